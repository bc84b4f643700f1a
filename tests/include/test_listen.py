"""`stic db start --listen HOST:PORT`: the embedded warehouse reachable over TCP for ODBC/JDBC tools, with
password logins only (its socket stays as it was)."""

from __future__ import annotations

import socket
from contextlib import closing

import psycopg
import pytest

from stic.warehouse import db


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_embedded_warehouse_listens_on_tcp_with_passwords(tmp_path):
    pgdata = tmp_path / "pgdata"
    port = _free_port()
    try:
        url = db.embedded_start(pgdata, listen=f"127.0.0.1:{port}")
        assert db.url_parts(url)["port"] == str(port) and db.url_parts(url)["host"].startswith("/")
        with psycopg.connect(url, autocommit=True) as c:  # the socket: as before, no password
            c.execute("create role bi_probe login password 'probe-secret'")
        tcp = f"postgresql://bi_probe:probe-secret@127.0.0.1:{port}/postgres"
        with psycopg.connect(tcp) as c:
            assert c.execute("select current_user, inet_server_port()").fetchone() == ("bi_probe", port)
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres").close()  # trust is gone on TCP
        assert db.embedded_start(pgdata, listen=f"127.0.0.1:{port}") == url  # already there: no restart
    finally:
        db.embedded_stop(pgdata)
