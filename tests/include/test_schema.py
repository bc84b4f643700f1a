"""init_schema runs before every load, beside other loaders: on a current warehouse it must take no table lock."""

from __future__ import annotations

import psycopg

from stic.warehouse import db


def test_init_schema_on_a_current_warehouse_waits_for_no_loader(conn, warehouse_url):
    db.init_schema(conn)  # current now
    with psycopg.connect(warehouse_url) as loader:  # a loader mid-transaction: RowExclusiveLock on raw.projects
        loader.execute("select 1 from raw.projects limit 0")
        loader.execute("lock table raw.projects in row exclusive mode")
        with psycopg.connect(warehouse_url, autocommit=True) as other:
            other.execute("set lock_timeout = '2s'")  # `create index if not exists` would wait for SHARE here
            db.init_schema(other)
        loader.rollback()


def test_init_schema_repairs_a_dropped_schema_and_a_changed_marker(conn):
    conn.execute("drop schema if exists marts cascade")
    db.init_schema(conn)
    assert conn.execute("select to_regnamespace('marts') is not null").fetchone()[0]
    conn.execute("comment on schema audit is 'stic-schema older'")
    db.init_schema(conn)
    marker = conn.execute("select obj_description('audit'::regnamespace, 'pg_namespace')").fetchone()[0]
    assert marker.startswith("stic-schema ") and marker != "stic-schema older"
