"""The warehouse connection: WAREHOUSE_URL when set, else an embedded PostgreSQL started on demand."""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import psycopg
from psycopg import sql

from stic.config import settings
from stic.contract.kinds import KINDS, LINEAGE_COLUMNS, PG_TYPES, TRAILING_COLUMNS, Kind

log = logging.getLogger(__name__)


class WarehouseUnavailable(RuntimeError):
    pass


def _pgserver():
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    import pgserver

    return pgserver


def embedded_start(pgdata: Path | None = None, listen: str | None = None) -> str:
    """Start (or find running) the embedded PostgreSQL; return its URL. It keeps running after we exit.

    listen="127.0.0.1:PORT" also opens TCP there, for ODBC/JDBC tools (a BI tool, Excel): the server is
    restarted on that address and port, and TCP logins need a password (scram-sha-256; the socket stays trust).
    """
    pgdata = Path(pgdata or settings().pgdata_dir)
    pgdata.mkdir(parents=True, exist_ok=True)
    try:
        _pgserver().get_server(pgdata, cleanup_mode=None)
        if listen:
            _listen(pgdata, listen)
    except Exception as e:  # pgserver raises CalledProcessError / TimeoutExpired with the log shown
        log_file = pgdata / "log"
        tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
        raise WarehouseUnavailable(f"the embedded PostgreSQL in {pgdata} did not start: {e}\n{tail}") from e
    return embedded_url(pgdata)


def _postmaster(pgdata: Path) -> list[str]:
    """postmaster.pid's lines: pid, data dir, start time, port, socket dir, listen address, ..."""
    return (pgdata / "postmaster.pid").read_text().splitlines()


def _listen(pgdata: Path, listen: str) -> None:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--listen {listen!r}: give HOST:PORT, e.g. 127.0.0.1:5434")
    pm = _postmaster(pgdata)
    if pm[3] == port and pm[5] == host:
        return
    # initdb trusted every TCP login; anyone on the machine would be superuser. Passwords on TCP instead.
    hba = pgdata / "pg_hba.conf"
    lines = [ln.rsplit("trust", 1)[0] + "scram-sha-256" if ln.startswith("host") and ln.rstrip().endswith("trust")
             else ln for ln in hba.read_text().splitlines()]
    hba.write_text("\n".join(lines) + "\n")
    from pgserver._commands import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    socket_dir = pm[4]
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    pg_ctl(["-w", "-o", f'-h "{host}"', "-o", f"-p {port}", "-o", f"-k {socket_dir}", "-l", str(pgdata / "log"),
            "start"], pgdata=pgdata, user=user, timeout=30)
    log.info("embedded PostgreSQL listening on %s:%s (password logins) and on its socket in %s", host, port,
             socket_dir)


def embedded_running(pgdata: Path | None = None) -> int | None:
    """The postmaster pid if the embedded server in pgdata runs, else None."""
    pgdata = Path(pgdata or settings().pgdata_dir)
    pidfile = pgdata / "postmaster.pid"
    if not pidfile.exists():
        return None
    try:
        pid = int(pidfile.read_text().split("\n", 1)[0])
        os.kill(pid, 0)
        return pid
    except (ValueError, ProcessLookupError, PermissionError):
        return None


def embedded_stop(pgdata: Path | None = None) -> bool:
    pgdata = Path(pgdata or settings().pgdata_dir)
    if embedded_running(pgdata) is None:
        return False
    _pgserver()
    from pgserver._commands import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    return True


def embedded_url(pgdata: Path | None = None) -> str:
    pgdata = Path(pgdata or settings().pgdata_dir)
    if embedded_running(pgdata) is not None:
        pm = _postmaster(pgdata)  # its socket directory and port (`--listen` may have moved the port)
        return url_from_parts(pm[4] or str(pgdata), pm[3] or 5432, "postgres", None, "postgres")
    return f"postgresql://postgres:@/postgres?host={pgdata}"


def warehouse_url(start: bool = True) -> str:
    """WAREHOUSE_URL, or the embedded server's URL (started if `start`)."""
    url = settings().warehouse_url
    if url:
        return url
    if start:
        return embedded_start()
    return embedded_url()


def connect(url: str | None = None, **kw) -> psycopg.Connection:
    url = url or warehouse_url()
    try:
        return psycopg.connect(url, **kw)
    except psycopg.OperationalError as e:
        raise WarehouseUnavailable(f"cannot connect to the warehouse at {redact(url)}: {e}".strip()) from e


@contextmanager
def transaction(url: str | None = None):
    with connect(url) as conn:
        with conn.transaction():
            yield conn


def redact(url: str) -> str:
    p = urlparse(url)
    if p.password:
        return url.replace(f":{p.password}@", ":***@")
    return url


def url_parts(url: str) -> dict[str, str]:
    """host, port, user, password, dbname of a PostgreSQL URL (a socket dir as host, too)."""
    p = urlparse(url)
    q = parse_qs(p.query)
    host = unquote(p.hostname or "") or (q.get("host", [""])[0]) or "localhost"
    return {
        "host": host,
        "port": str(p.port or q.get("port", ["5432"])[0]),
        "user": unquote(p.username or "") or q.get("user", ["postgres"])[0],
        "password": unquote(p.password or ""),
        "dbname": (p.path or "/postgres").lstrip("/") or "postgres",
    }


def url_from_parts(host: str, port: int | str | None, user: str, password: str | None, dbname: str) -> str:
    """A PostgreSQL URL from its parts; a socket directory as host goes in the query (libpq's form)."""
    from urllib.parse import quote

    auth = quote(user or "", safe="") + (f":{quote(password, safe='')}" if password else "")
    db_part = quote(dbname or "postgres", safe="")
    if host and host.startswith("/"):
        # The directory as is (libpq reads it so), in the form pgserver and embedded_url always wrote.
        query = f"host={host}" + (f"&port={port}" if port and str(port) != "5432" else "")
        return f"postgresql://{auth}@/{db_part}?{query}"
    return f"postgresql://{auth}@{host or 'localhost'}:{port or 5432}/{db_part}"


WAREHOUSE_CONN_ID = "stic_warehouse"


def airflow_connection(url: str) -> str:
    """The warehouse as an Airflow connection (AIRFLOW_CONN_STIC_WAREHOUSE): JSON, so a socket directory
    (the embedded server) and an empty password (trust authentication) survive, which a URI cannot carry."""
    import json

    parts = url_parts(url)
    return json.dumps({"conn_type": "postgres", "host": parts["host"], "port": int(parts["port"]),
                       "login": parts["user"], "password": parts["password"], "schema": parts["dbname"]})


def url_of_connection(conn) -> str:
    """The URL of an Airflow postgres connection (conn.schema is the database, as in the Postgres provider)."""
    return url_from_parts(conn.host or "localhost", conn.port or 5432, conn.login or "postgres", conn.password,
                          conn.schema or "postgres")


def dbt_profile(url: str, threads: int | None = None) -> tuple[str, dict[str, str]]:
    """A profiles.yml for `url` and the environment it needs (the password only, under dbt's secret prefix,
    which dbt scrubs from its logs). What the `stic` CLI runs dbt with; Airflow's Cosmos maps the
    `stic_warehouse` connection to the same profile."""
    import yaml

    parts = url_parts(url)
    threads = threads or int(os.environ.get("STIC_DBT_THREADS", "2"))
    output = {"type": "postgres", "host": parts["host"], "port": int(parts["port"]), "user": parts["user"],
              "password": "{{ env_var('DBT_ENV_SECRET_STIC_WAREHOUSE_PASSWORD') }}", "dbname": parts["dbname"],
              "schema": "marts", "threads": threads, "connect_timeout": 10}
    profile = {"stic_warehouse": {"target": "warehouse", "outputs": {"warehouse": output}}}
    return yaml.safe_dump(profile, sort_keys=False), {"DBT_ENV_SECRET_STIC_WAREHOUSE_PASSWORD": parts["password"]}


def dbt_env(url: str) -> dict[str, str]:
    """Environment that dbt_project/profiles.yml reads: for running `dbt` by hand and sqlfluff's dbt templater
    only; `stic` and Airflow give dbt a profile of their own (dbt_profile, the Cosmos mapping)."""
    parts = url_parts(url)
    return {
        "STIC_PG_HOST": parts["host"],
        "STIC_PG_PORT": parts["port"],
        "STIC_PG_USER": parts["user"],
        "STIC_PG_PASSWORD": parts["password"],
        "STIC_PG_DBNAME": parts["dbname"],
    }


def sqlalchemy_url(url: str) -> str:
    """The same database for SQLAlchemy (GX): psycopg 3 driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def raw_table_columns(kind: Kind) -> list[tuple[str, str]]:
    """(name, declared type) of the kind's own columns and the trailing ones: what a newer contract may add."""
    return [(c.name, PG_TYPES[c.type]) for c in kind.contract_columns] + list(TRAILING_COLUMNS)


def raw_table_ddl(kind: Kind) -> sql.Composed:
    cols = [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in LINEAGE_COLUMNS]
    cols.append(sql.SQL("source_sheet text not null default ''"))
    cols += [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in raw_table_columns(kind)]
    return sql.SQL("create table if not exists {} ({}, primary key (load_id, source_sheet, source_row_number))").format(
        sql.Identifier("raw", kind.raw_table), sql.SQL(", ").join(cols)
    )


def raw_index_ddl(kind: Kind) -> list[sql.Composed]:
    """The indexes of a kind's raw table besides its primary key.

    submission_id: a load's or a submission's rows; the key: the incremental facts re-rank only the keys of
    changed submissions (dbt macro incremental_changed_keys). A partial index on the rows with a value outside a
    code list (a `<column>_submitted` set): rpt_unmapped_codes reads those few rows through it, where it read every
    raw row of the kind (1.6-1.9 s a build at 10M project rows)."""
    table = sql.Identifier("raw", kind.raw_table)
    out = [sql.SQL("create index if not exists {} on {} ({})").format(
        sql.Identifier(f"{kind.raw_table}_{suffix}"), table, sql.Identifier(column))
        for suffix, column in (("submission_idx", "submission_id"), ("key_idx", kind.key))]
    submitted = [n for n, _ in raw_table_columns(kind) if n.endswith("_submitted")]
    if submitted:
        out.append(sql.SQL("create index if not exists {} on {} (submission_id) where {}").format(
            sql.Identifier(f"{kind.raw_table}_unlisted_idx"), table,
            sql.SQL(" or ").join(sql.SQL("{} is not null").format(sql.Identifier(n)) for n in submitted)))
    return out


SCHEMAS = ("raw", "staging", "intermediate", "marts", "audit")


def _schema_fingerprint(conn: psycopg.Connection) -> str:
    """A digest of everything init_schema applies: a changed contract, its indexes or schema.sql changes it."""
    ddl = resources.files("stic").joinpath("warehouse/schema.sql").read_text(encoding="utf-8")
    parts = [ddl] + [raw_table_ddl(kind).as_string(conn) for kind in KINDS.values()]
    parts += [index.as_string(conn) for kind in KINDS.values() for index in raw_index_ddl(kind)]
    return "stic-schema " + hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:16]


def _schema_is_current(conn: psycopg.Connection, fingerprint: str) -> bool:
    """Catalog reads only (no table locks): the marker on schema audit and every raw table present."""
    marker = conn.execute(
        "select d.description from pg_namespace n join pg_description d"
        " on d.objoid = n.oid and d.classoid = 'pg_namespace'::regclass where n.nspname = 'audit'"
    ).fetchone()
    if not marker or marker[0] != fingerprint:
        return False
    names = [f"raw.{kind.raw_table}" for kind in KINDS.values()]
    missing = conn.execute(
        "select (select count(*) from unnest(%s::text[]) t where to_regclass(t) is null)"
        " + (select count(*) from unnest(%s::text[]) s where not exists"
        " (select from pg_namespace n where n.nspname = s))",
        [names, list(SCHEMAS)],
    ).fetchone()
    return missing[0] == 0


def init_schema(conn: psycopg.Connection) -> None:
    """Create schemas and tables if missing. Safe to run at any time, by concurrent loaders too.

    When the warehouse already carries this version's schema (a marker on schema `audit`), nothing is
    executed: `create index if not exists` takes a SHARE lock on its table even when the index exists,
    which deadlocks against a concurrent loader that is inserting into that table.
    """
    fingerprint = _schema_fingerprint(conn)
    with conn.transaction():
        if _schema_is_current(conn, fingerprint):
            return
    ddl = resources.files("stic").joinpath("warehouse/schema.sql").read_text(encoding="utf-8")
    with conn.transaction():
        # Concurrent `create ... if not exists` can still collide on the catalog; serialise them.
        conn.execute("select pg_advisory_xact_lock(hashtext('stic.init_schema'))")
        if _schema_is_current(conn, fingerprint):
            return
        conn.execute(ddl)
        for kind in KINDS.values():
            conn.execute(raw_table_ddl(kind))
            # A column added to the contract after the table was made (old rows keep NULL in it).
            for n, t in raw_table_columns(kind):
                conn.execute(sql.SQL("alter table {} add column if not exists {} {}").format(
                    sql.Identifier("raw", kind.raw_table), sql.Identifier(n), sql.SQL(t)))
            for index in raw_index_ddl(kind):
                conn.execute(index)
        conn.execute(sql.SQL("comment on schema audit is {}").format(sql.Literal(fingerprint)))


# ------------------------------------------------------------------------------------ scratch databases
# The benchmark, the stack without Docker and the tests each work in a database of their own, made on a
# server's admin URL and dropped afterwards.

def database_url(url: str, dbname: str, scheme: str | None = None) -> str:
    """url with its database replaced by dbname (and its scheme by scheme, when given)."""
    from urllib.parse import urlunparse

    p = urlparse(url)
    return urlunparse(p._replace(path=f"/{dbname}", scheme=scheme or p.scheme))


def create_database(admin_url: str, name: str) -> str:
    """Create database name on admin_url's server; return its URL."""
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return database_url(admin_url, name)


def drop_database(admin_url: str, name: str, **connect_kw) -> None:
    """Drop database name on admin_url's server, if it exists, disconnecting whoever is still on it."""
    with psycopg.connect(admin_url, autocommit=True, **connect_kw) as c:
        c.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def scratch_name(prefix: str, suffix: str | None = None) -> str:
    """A database name of its own: prefix_ and suffix, or ten random hex digits."""
    import uuid

    return f"{prefix}_{suffix or uuid.uuid4().hex[:10]}"


@contextmanager
def scratch_database(admin_url: str, prefix: str, suffix: str | None = None):
    """A new database on admin_url's server (named by scratch_name), yielding its URL; dropped on exit."""
    name = scratch_name(prefix, suffix)
    url = create_database(admin_url, name)
    try:
        yield url
    finally:
        drop_database(admin_url, name)
