"""
### Maintain the warehouse

Weekly housekeeping: re-hash every archived original against the ledger (an auditor's guarantee that any
load can be replayed byte for byte — a damaged archive fails this run loudly), check the freshness of the
ledger (`dbt source freshness`), regenerate the dbt docs, prune Airflow task logs older than `STIC_LOG_RETENTION_DAYS` (default 30) and
the Airflow metadata database (`airflow db clean`: runs, task instances, XComs, log rows) older than
`STIC_AIRFLOW_DB_RETENTION_DAYS` (default 30) — the 15-minute ingest DAG alone makes 96 runs a day.
"""

from __future__ import annotations

from datetime import datetime

from _stic_common import DEFAULT_ARGS
from airflow.sdk import dag, task


@dag(
    schedule="@weekly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["stic", "maintenance"],
    doc_md=__doc__,
)
def maintain_warehouse():
    @task
    def verify_archive() -> dict:
        from stic.ops.maintenance import verify_archive

        return verify_archive()

    @task
    def check_freshness() -> str:
        from stic.warehouse import dbt_runner as dbt

        dbt.run(["source", "freshness"], quiet=True)
        return "fresh"

    @task
    def refresh_dbt_docs() -> str:
        from stic.warehouse import dbt_runner as dbt

        return str(dbt.docs())

    @task
    def prune_airflow_logs() -> dict:
        from stic.ops.airflow_env import airflow_home
        from stic.ops.maintenance import prune_logs

        return prune_logs(airflow_home() / "logs")

    @task
    def clean_airflow_db() -> dict:
        from stic.ops.maintenance import clean_airflow_db

        return clean_airflow_db()

    verify_archive() >> check_freshness() >> refresh_dbt_docs() >> prune_airflow_logs() >> clean_airflow_db()


maintain_warehouse()
