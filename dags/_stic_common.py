"""Wiring shared by the DAG files: default arguments and the assets. Cheap to import (no I/O, no heavy imports)."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset

from stic.notify import alert_emails, task_failed

KINDS = ("projects", "facilities", "platform_assessments", "ip_transactions")

# One asset per raw kind: updated whenever a submission of that kind is published.
RAW_ASSETS = {kind: Asset(f"stic://warehouse/raw/{kind}", group="stic") for kind in KINDS}

DEFAULT_ARGS = {
    "owner": "stic-data-engineering",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=1),
    "on_failure_callback": task_failed,  # logs; posts to STIC_ALERT_WEBHOOK_URL when set
    "email": alert_emails(),  # STIC_ALERT_EMAIL, through Airflow's SMTP settings
    "email_on_failure": bool(alert_emails()),
    "email_on_retry": False,
}
