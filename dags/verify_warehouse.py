"""
### Verify the warehouse

Nightly: every dbt test on the warehouse, the `nightly` ones too. Builds leave those out
(`dbt_project.yml`): the tests of the ranking views (one canonical row per key, every reported row ranked,
no key twice in a submission) read every row a kind ever had, so in every build they would cost the
warehouse's size rather than the new load's. A failing test fails the run with the tests' names, and the
failure alert tells the data team. Runs in a dbt target folder of its own (`stic.ops.maintenance.test_whole_warehouse`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from _stic_common import DEFAULT_ARGS
from airflow.sdk import dag, task


@dag(
    schedule="0 2 * * *",  # at night, after the day's drops
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["stic", "maintenance", "quality"],
    doc_md=__doc__,
)
def verify_warehouse():
    @task(execution_timeout=timedelta(hours=3))
    def whole_warehouse_tests() -> dict:
        from airflow.sdk.exceptions import AirflowFailException

        from stic.ops.maintenance import test_whole_warehouse
        from stic.warehouse.dbt_runner import DbtFailed

        try:
            return test_whole_warehouse()
        except DbtFailed as e:
            # A failing test stays failing on a retry: fail once, the failure callback sends the alert.
            raise AirflowFailException(str(e)) from e

    whole_warehouse_tests()


verify_warehouse()
