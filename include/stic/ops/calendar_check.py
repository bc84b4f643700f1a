"""The daily overdue check: which calendar obligations became overdue in a window, with nothing published for them.

Reads marts.rpt_submission_calendar (the due dates) and the ledger as it is now (so a file published after the
last dbt build is not reported). DAG check_submission_calendar runs it for each day; plain Python, so it is
tested without Airflow. Returns the items; the caller decides how to alert.
"""

from __future__ import annotations

import logging
from datetime import date

import psycopg
from psycopg.rows import dict_row

from stic.warehouse import db

log = logging.getLogger(__name__)

# An obligation becomes overdue on the day after late_after_date (due date + grace days).
NEWLY_OVERDUE = """
select c.calendar_item_id, c.submitter_code, c.submission_kind, c.reporting_period, c.due_date,
       c.late_after_date, (c.late_after_date + 1) as overdue_from, c.submissions_rejected
from marts.rpt_submission_calendar as c
where c.late_after_date + 1 >= %(since)s and c.late_after_date + 1 < %(until)s
  and not exists (
      select 1 from audit.submissions as s
      where s.submitter_code = c.submitter_code and s.kind = c.submission_kind
        and (s.period = c.reporting_period or s.period = c.reporting_year::text)
        and s.status in ('published', 'superseded'))
order by c.late_after_date, c.submitter_code, c.submission_kind, c.reporting_period
"""


class CalendarNotBuilt(RuntimeError):
    """The calendar mart does not exist yet."""


def newly_overdue(conn: psycopg.Connection, since: date, until: date) -> list[dict]:
    """Obligations whose first overdue day is in [since, until) and that nothing published meets."""
    if not conn.execute("select to_regclass('marts.rpt_submission_calendar') is not null").fetchone()[0]:
        raise CalendarNotBuilt("marts.rpt_submission_calendar is not built yet: run the build_warehouse DAG "
                               "(or `stic build`) first; the overdue check reads its due dates")
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(NEWLY_OVERDUE, {"since": since, "until": until}).fetchall()


def describe(item: dict) -> str:
    rejected = item["submissions_rejected"]
    return (f"{item['submitter_code']} {item['submission_kind']} {item['reporting_period']}: due "
            f"{item['due_date']:%Y-%m-%d}, overdue from {item['overdue_from']:%Y-%m-%d}, nothing published"
            + (f" ({rejected} rejected submission{'s' if rejected != 1 else ''})" if rejected else ""))


def check(since: date, until: date, url: str | None = None) -> list[str]:
    """The newly overdue obligations in [since, until) as sentences, each logged as a warning."""
    with db.connect(url or db.warehouse_url(), autocommit=True) as conn:
        items = newly_overdue(conn, since, until)
    lines = [describe(i) for i in items]
    for line in lines:
        log.warning("overdue: %s", line)
    return lines
