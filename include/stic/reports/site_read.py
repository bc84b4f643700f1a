"""Reading the warehouse for the auditors' site: a mart may be missing or half-built, the site is built anyway."""

from __future__ import annotations

import logging
import re

import psycopg
from psycopg.rows import dict_row

log = logging.getLogger("stic.reports.site")


def exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


def query(conn: psycopg.Connection, q: str, params=()) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(q, params).fetchall()


def try_mart(conn: psycopg.Connection, relation: str, q: str, params=()) -> tuple[list[dict] | None, str | None]:
    """Rows of a mart query, or (None, why not): the mart may not be built, or be half-built."""
    if not exists(conn, relation):
        return None, f"{relation} is not built yet"
    try:
        with conn.transaction():
            return query(conn, q, params), None
    except psycopg.Error as e:
        log.warning("site: %s unusable: %s", relation, e)
        return None, f"{relation} could not be read ({e.__class__.__name__}: {str(e).splitlines()[0]})"


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def slug(*parts: object) -> str:
    """A file name or HTML id made of the parts: letters, digits, '_', '.', '-' only, never empty."""
    text = "-".join(_UNSAFE.sub("_", str(p)) for p in parts).strip(".")
    return text or "_"
