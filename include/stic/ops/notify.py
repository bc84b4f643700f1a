"""Failure alerts for the DAGs: always logged; sent through Airflow's notifiers when a channel is configured.

- Apprise (`AppriseNotifier`, apache-airflow-providers-apprise): the Airflow connection `stic_alerts`
  (type apprise) lists the targets in its `config` extra — `dingtalk://TOKEN/SECRET` (a DingTalk robot),
  `wecombot://KEY` (a WeCom group robot), `slack://...`, `mailto://...`, `json://host/path` (any webhook).
  No connection: no message, only the log line. STIC_ALERT_APPRISE_CONN names another connection.
- SMTP (`SmtpNotifier`, apache-airflow-providers-smtp): STIC_ALERT_EMAIL lists the recipients; the server is
  the connection STIC_ALERT_SMTP_CONN (default `smtp_default`).

Airflow imports happen only when a task fails, so importing this module stays cheap for the DAG parser.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("stic.alerts")

APPRISE_CONN_ID = "stic_alerts"


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


def failure_text(msg: dict) -> tuple[str, str]:
    """(title, body) of an alert: short enough for a chat robot, with what to open in Airflow."""
    where = f"{msg['dag_id']}.{msg['task_id']}" + (f"[{msg['map_index']}]" if msg.get("map_index") not in (None, -1)
                                                   else "")
    title = f"STIC: {where} failed"
    body = (f"Task {where} failed (try {msg['try_number']}, run {msg['run_id']}).\n"
            f"Error: {msg['error'] or 'see the task log'}\n"
            "Open the run in Airflow for the task log; a fix and a clear of the task re-run it.")
    return title, body


def _connection_exists(conn_id: str) -> bool:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        Connection.get(conn_id)
        return True
    except AirflowNotFoundException:
        return False


def notifiers(title: str, body: str) -> list:
    """Airflow notifier objects for the configured channels (none configured: an empty list)."""
    out = []
    apprise_conn = os.environ.get("STIC_ALERT_APPRISE_CONN", APPRISE_CONN_ID)
    if _connection_exists(apprise_conn):
        from airflow.providers.apprise.notifications.apprise import AppriseNotifier
        from apprise import NotifyType

        out.append(AppriseNotifier(title=title, body=body, notify_type=NotifyType.FAILURE,
                                   apprise_conn_id=apprise_conn))
    if alert_emails():
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        html = "<pre>" + body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</pre>"
        out.append(SmtpNotifier(to=alert_emails(), subject=title, html_content=html,
                                smtp_conn_id=os.environ.get("STIC_ALERT_SMTP_CONN", "smtp_default")))
    return out


def task_failed(context: dict) -> None:
    """on_failure_callback: log what failed, and send it through each configured notifier. Never raises."""
    msg = failure_message(context)
    log.error("task failed: %(dag_id)s.%(task_id)s[%(map_index)s] try %(try_number)s run %(run_id)s: %(error)s", msg)
    title, body = failure_text(msg)
    try:
        channels = notifiers(title, body)
    except Exception as e:  # an alert that cannot be sent must not hide the failure it reports
        log.warning("could not set up the failure alert: %s", e)
        return
    for notifier in channels:
        try:
            # notify(), not __call__: the text is final; rendering it as a template would choke on an error
            # message holding "{{".
            notifier.notify(context)
        except Exception as e:
            log.warning("could not send the failure alert through %s: %s", type(notifier).__name__, e)
