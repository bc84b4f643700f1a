"""
### Check the submission calendar

Daily: which submissions of the calendar (include/stic/reference/calendar.yml, mart rpt_submission_calendar)
became overdue during the run's interval — due date plus grace days passed, nothing published and no
"nothing to report" declaration. Each is logged; if there is any, the task fails with the list, so the
failure alert (webhook / e-mail, see stic.notify) tells the data team who to chase. The mart's due dates come
from the last build of the warehouse; what was published since is taken from the ledger as it is now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from _stic_common import DEFAULT_ARGS
from airflow.sdk import dag, task


@dag(
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
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

        from stic.calendar_check import check

        overdue = check(data_interval_start.date(), data_interval_end.date())
        if overdue:
            # No retry would change the answer: fail once, and the failure callback sends the alert.
            raise AirflowFailException(f"{len(overdue)} submission(s) newly overdue: " + "; ".join(overdue))
        return overdue

    check_overdue()


check_submission_calendar()
