"""
### Check the submission calendar

Daily: which submissions of the calendar (include/stic/contract/reference/calendar.yml, mart rpt_submission_calendar)
became overdue during the run's interval (or on the run's day) — due date plus grace days passed, nothing published and no
"nothing to report" declaration. Each is logged; if there is any, the task fails with the list, so the
failure alert (webhook / e-mail, see stic.ops.notify) tells the data team who to chase. The mart's due dates come
from the last build of the warehouse; what was published since is taken from the ledger as it is now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from _stic_common import DEFAULT_ARGS
from airflow.sdk import dag, task


@dag(
    schedule="@daily",
    # As early as the calendar, so that a past day can be checked (airflow dags test …, a manual run);
    # catchup is off, so nothing is backfilled on its own.
    start_date=datetime(2014, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["stic", "calendar"],
    doc_md=__doc__,
)
def check_submission_calendar():
    @task(execution_timeout=timedelta(minutes=10))
    def check_overdue(data_interval_start=None, data_interval_end=None) -> list[str]:
        from airflow.sdk.exceptions import AirflowFailException

        from stic.ops.calendar_check import check

        # A cron schedule in Airflow 3 may give an empty interval (start == end, the run's day): check that day.
        since = data_interval_start.date()
        overdue = check(since, max(data_interval_end.date(), since + timedelta(days=1)))
        if overdue:
            # No retry would change the answer: fail once, and the failure callback sends the alert.
            shown = "; ".join(overdue[:20]) + (f"; … and {len(overdue) - 20} more (see the task log)" if len(overdue) > 20 else "")
            raise AirflowFailException(f"{len(overdue)} submission(s) newly overdue: {shown}")
        return overdue

    check_overdue()


check_submission_calendar()
