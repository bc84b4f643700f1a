"""Wiring shared by the DAG files: default arguments, the assets, the warehouse connection. Cheap to import (no
I/O, no heavy imports: Cosmos and the notifier providers are imported inside the functions that use them)."""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import Asset

from stic.ops.notify import task_failed

KINDS = ("projects", "facilities", "platform_assessments", "ip_transactions")
WAREHOUSE_CONN_ID = "stic_warehouse"  # stic.warehouse.db.WAREHOUSE_CONN_ID (that module imports psycopg: not at parse)

# The dbt vars stic's dbt runner passes (stic.warehouse.dbt_runner.PROJECT_VARS; a DAG test checks they are equal):
# given to Cosmos too, the DAG's `dbt build` reuses the partial parse of a `stic` run (same vars, profile, target).
DBT_VARS = {"stic_publication_lock": "stic.ledger.publication"}

# One asset per raw kind: updated whenever a submission of that kind is published.
RAW_ASSETS = {kind: Asset(f"stic://warehouse/raw/{kind}", group="stic") for kind in KINDS}


def use_warehouse_connection(context) -> None:
    """pre_execute of every task: the `stic_warehouse` connection (env, metadata DB or secrets backend) is the
    warehouse the task's stic code connects to. Without the connection, WAREHOUSE_URL / the embedded server."""
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    from stic.warehouse import db

    try:
        conn = Connection.get(WAREHOUSE_CONN_ID)
    except AirflowNotFoundException:
        return
    os.environ["WAREHOUSE_URL"] = db.url_of_connection(conn)


def remember_submissions(context, result) -> None:
    """post_execute: see _stic_lineage (imported only when lineage is on, and only after a task has run)."""
    if os.environ.get("AIRFLOW__OPENLINEAGE__TRANSPORT") or os.environ.get("OPENLINEAGE_URL"):
        from _stic_lineage import remember_submissions as remember

        remember(context, result)


def warehouse_profile_config():
    """Cosmos' dbt profile, mapped from the `stic_warehouse` connection (no profiles.yml, no STIC_PG_*)."""
    from cosmos import ProfileConfig
    from cosmos.profiles import PostgresUserPasswordProfileMapping

    class WarehouseProfileMapping(PostgresUserPasswordProfileMapping):
        # The embedded warehouse and trust-authenticated servers have no password, which Cosmos' mapping
        # otherwise refuses ("Could not find a value for secret field password").
        def get_dbt_value(self, name):
            value = super().get_dbt_value(name)
            return "" if value is None and name == "password" else value

    return ProfileConfig(
        profile_name="stic_warehouse",
        target_name="warehouse",
        profile_mapping=WarehouseProfileMapping(
            conn_id=WAREHOUSE_CONN_ID,
            # schema: dbt's target schema; the models' own (staging, intermediate, marts) come from
            # macros/generate_schema_name.sql.
            profile_args={"schema": "marts", "threads": int(os.environ.get("STIC_DBT_THREADS", "2")),
                          "connect_timeout": 10},
        ),
    )


DEFAULT_ARGS = {
    "owner": "stic-data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=1),
    "pre_execute": use_warehouse_connection,
    "post_execute": remember_submissions,  # the OpenLineage of an ingest task: original file -> raw table
    # Logs, then alerts through Airflow's notifiers: Apprise (connection `stic_alerts`: DingTalk, WeCom,
    # Slack, e-mail, ... robots) and SMTP (STIC_ALERT_EMAIL recipients, connection `smtp_default`).
    "on_failure_callback": task_failed,
}
