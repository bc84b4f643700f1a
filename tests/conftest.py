"""Test fixtures: a real PostgreSQL database per test session, and project state in a temporary folder.

The database: WAREHOUSE_TEST_URL (an admin URL, e.g. the machine's PostgreSQL) when set, else the
embedded PostgreSQL under .stic/test-pgdata. Either way the session gets a fresh database of its own,
dropped at the end, so tests never touch the demo warehouse.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
# The tests write their landing files whole and scan at once (subprocesses and Airflow inherit this);
# tests of the settle time set it themselves.
os.environ.setdefault("STIC_LANDING_SETTLE_SECONDS", "0")
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def admin_url() -> str:
    url = os.environ.get("WAREHOUSE_TEST_URL")
    if url:
        return url
    from stic.warehouse import db

    return db.embedded_start(ROOT / ".stic" / "test-pgdata")


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("stic-state")


@pytest.fixture(scope="session")
def warehouse_url(admin_url, state_dir) -> str:
    """A fresh database for this session, with the project's settings pointed at it and at temp folders."""
    from stic.warehouse import db

    with db.scratch_database(admin_url, "stic_test") as url:
        env = {
            "WAREHOUSE_URL": url,
            "STIC_DATA_DIR": str(state_dir / "data"),
            "STIC_LANDING_DIR": str(state_dir / "landing"),
            "STIC_REPORTS_DIR": str(state_dir / "reports"),
            "DBT_TARGET_PATH": str(state_dir / "dbt-target"),
            "DBT_LOG_PATH": str(state_dir / "dbt-logs"),
        }
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        yield url
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture()
def conn(warehouse_url):
    from stic.warehouse import db

    with psycopg.connect(warehouse_url, autocommit=True) as c:
        db.init_schema(c)
        yield c


@pytest.fixture()
def clean_warehouse(conn):
    """Empty ledger and raw tables, and no dbt-built relations, before a test that counts rows.

    Marts left by an earlier test would describe submissions this test has truncated away; a test that
    needs marts builds them (dbt) from its own data.
    """
    return reset_warehouse(conn)


def reset_warehouse(conn):
    """Drop the dbt-built schemas and empty the ledger (ids restart) and the raw tables; the audit history
    tables are append-only, so TRUNCATE (which their trigger allows) is the reset. Returns the connection."""
    from stic.contract.kinds import KINDS
    from stic.warehouse import db

    conn.execute("drop schema if exists marts, intermediate, staging, snapshots cascade")
    db.init_schema(conn)
    conn.execute(
        "truncate audit.validation_results, audit.validation_runs, audit.rejected_rows, audit.loads, "
        "audit.submission_events, audit.submissions, audit.agency_watermarks restart identity cascade"
    )
    for k in KINDS:
        conn.execute(f"truncate raw.{k}")
    return conn


@pytest.fixture()
def fixture_file():
    def get(name: str) -> Path:
        p = FIXTURES / name
        assert p.exists(), f"missing fixture {p}"
        return p

    return get
