"""Failure alerts through Airflow's notifiers, received by real servers on 127.0.0.1: a DingTalk robot (Apprise's
dingtalk plugin, signed as DingTalk checks it), a JSON webhook (Apprise json://) and an SMTP server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socketserver
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from tests.dags.conftest import run_python

TOKEN, SECRET = "0123abcd", "SECabc123"

PROBE_DAG = '''
from datetime import datetime

from _stic_common import DEFAULT_ARGS
from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2026, 1, 1), default_args={**DEFAULT_ARGS, "retries": 0}, tags=["stic"])
def stic_alert_probe():
    @task
    def load_raw():
        raise ValueError("row 7, column amount_yuan: '12,5' is not a number {{ not a template }}")

    load_raw()


stic_alert_probe()
'''

RUN_PROBE = """
import os
from apprise.plugins.dingtalk import NotifyDingTalk
# DingTalk's robot API is https://oapi.dingtalk.com/robot/send; there is no network here, so only the host moves.
NotifyDingTalk.notify_url = os.environ["PROBE_ROBOT"] + "/robot/send?access_token={token}"
from airflow.dag_processing.dagbag import DagBag
dag = DagBag(dag_folder=os.environ["PROBE_DAGS"]).get_dag("stic_alert_probe")
print("RESULT", dag.test().state)
"""


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps what it is sent and answers as a DingTalk robot does."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                reply = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def dingtalk_sign(timestamp: str, secret: str) -> str:
    """What DingTalk compares a signed robot call against (its documented HMAC-SHA256 scheme)."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@pytest.mark.slow
def test_a_failed_task_alerts_a_dingtalk_robot(airflow_home, receiver, tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "stic_alert_probe.py").write_text(PROBE_DAG)
    alerts = {"conn_type": "apprise", "extra": {"config": {"path": f"dingtalk://{SECRET}@{TOKEN}"}}}
    proc = run_python(RUN_PROBE, {"PROBE_ROBOT": receiver.url, "PROBE_DAGS": str(dags),
                                  "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                                  "AIRFLOW_CONN_STIC_ALERTS": json.dumps(alerts)}, timeout=300)
    assert "RESULT failed" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]

    assert len(receiver.received) == 1, receiver.received
    call = receiver.received[0]
    url = urlparse(call["path"])
    query = parse_qs(url.query)
    assert url.path == "/robot/send" and query["access_token"] == [TOKEN]
    # Apprise 2.3 URL-quotes the signature and requests quotes the query again: it arrives encoded twice.
    assert unquote(query["sign"][0]) == dingtalk_sign(query["timestamp"][0], SECRET), "signature differs"
    body = call["body"]
    assert body["msgtype"] == "text" and set(body["text"]) == {"content"}, body
    content = body["text"]["content"]
    assert content.startswith("STIC: stic_alert_probe.load_raw failed")
    assert "row 7, column amount_yuan: '12,5' is not a number {{ not a template }}" in content
    assert "run manual__" in content


def test_alerts_go_to_a_json_webhook_and_by_email(receiver, monkeypatch):
    """Any webhook through Apprise's json:// target; e-mail through SmtpNotifier and the SMTP connection."""
    from stic.ops import notify

    mails = []

    class Smtp(socketserver.StreamRequestHandler):
        def handle(self):
            say = lambda line: self.wfile.write(line.encode() + b"\r\n")  # noqa: E731
            say("220 localhost ESMTP")
            while line := self.rfile.readline():
                cmd = line.decode().strip().upper()
                if cmd.startswith(("EHLO", "HELO")):
                    say("250 localhost")
                elif cmd == "DATA":
                    say("354 end with .")
                    data = b"".join(iter(lambda: self.rfile.readline(), b".\r\n"))
                    mails.append(message_from_bytes(data))
                    say("250 queued")
                elif cmd == "QUIT":
                    say("221 bye")
                    return
                else:
                    say("250 ok")

    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Smtp)
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    try:
        webhook = {"conn_type": "apprise", "extra": {"config": [{"path": f"json://{receiver.url[7:]}/stic"}]}}
        monkeypatch.setenv("AIRFLOW_CONN_STIC_ALERTS", json.dumps(webhook))
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": smtp.server_address[1],
            "extra": {"from_email": "stic-airflow@example.gov.cn", "disable_tls": True, "disable_ssl": True}}))
        monkeypatch.setenv("STIC_ALERT_EMAIL", "data-team@example.gov.cn, steward@example.gov.cn")
        ti = SimpleNamespace(dag_id="build_warehouse", task_id="validate_marts", map_index=-1, try_number=3)
        notify.task_failed({"task_instance": ti, "run_id": "manual__1", "exception": RuntimeError("mart broke")})
    finally:
        smtp.shutdown()
        smtp.server_close()

    assert [r["path"] for r in receiver.received] == ["/stic"]
    sent = receiver.received[0]["body"]
    assert sent["title"] == "STIC: build_warehouse.validate_marts failed" and sent["type"] == "failure"
    assert "mart broke" in sent["message"] and "try 3, run manual__1" in sent["message"]
    assert len(mails) == 1
    mail = mails[0]
    assert mail["Subject"] == "STIC: build_warehouse.validate_marts failed"
    assert mail["To"] == "data-team@example.gov.cn, steward@example.gov.cn"
    assert "mart broke" in str(mail)


def test_without_a_channel_a_failure_is_only_logged_and_a_dead_one_never_raises(monkeypatch, caplog):
    from stic.ops import notify

    monkeypatch.delenv("AIRFLOW_CONN_STIC_ALERTS", raising=False)
    monkeypatch.delenv("STIC_ALERT_EMAIL", raising=False)
    assert notify.notifiers("t", "b") == []
    notify.task_failed({"exception": ValueError("x")})
    assert "task failed" in caplog.text
    monkeypatch.setenv("STIC_ALERT_EMAIL", "a@example.gov.cn")
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": 9,
                                                                "extra": {"from_email": "x@example.gov.cn"}}))
    notify.task_failed({"exception": ValueError("y")})
    assert "could not send the failure alert through SmtpNotifier" in caplog.text
