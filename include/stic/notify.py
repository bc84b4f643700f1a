"""Failure notifications for the DAGs: always logged; posted to a webhook when one is configured (off by default).

STIC_ALERT_WEBHOOK_URL: a URL that receives a JSON POST per failed task (Slack/Teams/DingTalk-compatible
gateways accept it). Email goes through Airflow's own SMTP settings: set STIC_ALERT_EMAIL to a list of
addresses and the DAGs' `email_on_failure` is switched on for them.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("stic.alerts")


def alert_emails() -> list[str]:
    return [a.strip() for a in os.environ.get("STIC_ALERT_EMAIL", "").split(",") if a.strip()]


def failure_message(context: dict) -> dict:
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    return {
        "event": "task_failed",
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "map_index": getattr(ti, "map_index", None),
        "try_number": getattr(ti, "try_number", None),
        "run_id": getattr(dag_run, "run_id", None) or context.get("run_id"),
        "error": str(context.get("exception") or "")[:2000],
    }


def task_failed(context: dict) -> None:
    """on_failure_callback: log what failed, and post it to the webhook if there is one. Never raises."""
    msg = failure_message(context)
    log.error("task failed: %(dag_id)s.%(task_id)s[%(map_index)s] try %(try_number)s run %(run_id)s: %(error)s", msg)
    url = os.environ.get("STIC_ALERT_WEBHOOK_URL")
    if not url:
        return
    try:
        import requests

        requests.post(url, json=msg, timeout=5).raise_for_status()
    except Exception as e:  # an alert that cannot be sent must not hide the failure it reports
        log.warning("could not post the failure alert to %s: %s", url, e)
