"""Database roles for the loader, dbt, BI tools, auditors and district analysts, with row-level security.

`apply()` is idempotent and runs after every warehouse build: dbt recreates mart tables, so grants
and policies are (re)applied to whatever tables exist then. District analysts are granted a table
only together with its row-level security policy, so a freshly rebuilt table is closed to them until
its policy is in place (fail closed), never open to all rows.
"""

from __future__ import annotations

import logging
import os

import psycopg
from psycopg import sql

from stic.contract import codes

log = logging.getLogger(__name__)

LOADER, TRANSFORMER, BI_READER, AUDITOR = "stic_loader", "stic_transformer", "stic_bi_reader", "stic_auditor"
ANALYSTS = "stic_district_analyst"  # group of the per-district roles
DISTRICT_COLUMNS = ("district_code", "seller_district_code")
# A joint project's partner districts ("PD,XH"): their analysts see its rows too.
JOINT_COLUMN = "joint_with_district_codes"
# Reference data every analyst may read whole, district column or not.
REFERENCE_TABLES = ("dim_district", "dim_submitter", "dim_field", "dim_date", "dim_programme", "dim_project_level",
                    "dim_status", "dim_facility_type", "dim_ip_type", "dim_transaction_type", "dim_region",
                    "dim_institution_type")
# File names, hashes and archive paths of every row: for auditors, not for BI tools.
AUDITOR_ONLY_TABLES = ("rpt_row_lineage",)
SCHEMAS = ("raw", "staging", "intermediate", "marts", "audit", "snapshots")


def analyst_role(district: str) -> str:
    return f"stic_analyst_{district.lower()}"


def _ident(*names: str) -> sql.Identifier:
    return sql.Identifier(*names)


def _ensure_role(conn: psycopg.Connection, role: str, login: bool = True, in_role: str | None = None) -> None:
    exists = conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone()
    if not exists:
        try:
            conn.execute(sql.SQL("create role {} {}").format(_ident(role), sql.SQL("login" if login else "nologin")))
        except psycopg.errors.DuplicateObject:
            pass  # created meanwhile by a concurrent apply (roles are cluster-wide)
    password = os.environ.get(f"STIC_ROLE_PASSWORD_{role.upper()}")
    if password:
        conn.execute(sql.SQL("alter role {} password {}").format(_ident(role), sql.Literal(password)))
    if in_role:
        conn.execute(sql.SQL("grant {} to {}").format(_ident(in_role), _ident(role)))


def _tables(conn: psycopg.Connection, schema: str) -> list[str]:
    return [r[0] for r in conn.execute(
        "select table_name from information_schema.tables where table_schema = %s order by 1", (schema,))]


def _columns(conn: psycopg.Connection, table: str) -> set[str]:
    return {r[0] for r in conn.execute(
        "select column_name from information_schema.columns where table_schema = 'marts' and table_name = %s", (table,))}


def _district_column(conn: psycopg.Connection, table: str) -> str | None:
    cols = _columns(conn, table)
    return next((c for c in DISTRICT_COLUMNS if c in cols), None)


def _district_policy(district: str, col: str, joint: bool) -> sql.Composable:
    """The rows one district's analysts see: booked to the district, or a joint project naming it as partner."""
    own = sql.SQL("{} = {}").format(_ident(col), sql.Literal(district))
    if not joint:
        return own
    return sql.SQL("({} or {} = any(string_to_array({}, ',')))").format(own, sql.Literal(district), _ident(JOINT_COLUMN))


def apply(conn: psycopg.Connection) -> dict:
    """Create the roles and (re)apply grants and row-level security. Returns what was secured."""
    districts = list(codes.codes("district"))
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('stic.warehouse.roles'))")
        for role in (LOADER, TRANSFORMER, BI_READER, AUDITOR):
            _ensure_role(conn, role)
        _ensure_role(conn, ANALYSTS, login=False)
        for d in districts:
            _ensure_role(conn, analyst_role(d), in_role=ANALYSTS)
        dbname = conn.info.dbname
        conn.execute(sql.SQL("grant connect on database {} to {}, {}, {}, {}, {}").format(
            _ident(dbname), *map(_ident, (LOADER, TRANSFORMER, BI_READER, AUDITOR, ANALYSTS))))
        for schema in SCHEMAS:
            conn.execute(sql.SQL("create schema if not exists {}").format(_ident(schema)))

        # loader: writes raw and audit (ingestion); transformer: reads them, owns the dbt schemas' contents.
        for schema in ("raw", "audit"):
            conn.execute(sql.SQL("grant usage on schema {} to {}, {}").format(_ident(schema), _ident(LOADER), _ident(TRANSFORMER)))
            conn.execute(sql.SQL("grant select, insert, update, delete on all tables in schema {} to {}").format(
                _ident(schema), _ident(LOADER)))
            conn.execute(sql.SQL("grant usage on all sequences in schema {} to {}").format(_ident(schema), _ident(LOADER)))
            conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(_ident(schema), _ident(TRANSFORMER)))
        for schema in ("staging", "intermediate", "marts", "snapshots"):
            conn.execute(sql.SQL("grant usage, create on schema {} to {}").format(_ident(schema), _ident(TRANSFORMER)))

        # BI tools: marts only. Auditors: marts and audit. Analysts: marts, filtered by district.
        conn.execute(sql.SQL("grant usage on schema marts to {}, {}, {}").format(
            _ident(BI_READER), _ident(AUDITOR), _ident(ANALYSTS)))
        conn.execute(sql.SQL("grant usage on schema audit to {}").format(_ident(AUDITOR)))
        conn.execute(sql.SQL("grant select on all tables in schema marts to {}, {}").format(_ident(BI_READER), _ident(AUDITOR)))
        conn.execute(sql.SQL("grant select on all tables in schema audit to {}").format(_ident(AUDITOR)))
        for table in set(AUDITOR_ONLY_TABLES) & set(_tables(conn, "marts")):
            conn.execute(sql.SQL("revoke all on {} from {}").format(_ident("marts", table), _ident(BI_READER)))
        # Tables dbt creates later, as whoever runs dbt now, are readable by BI and auditors at once.
        conn.execute(sql.SQL("alter default privileges in schema marts grant select on tables to {}, {}").format(
            _ident(BI_READER), _ident(AUDITOR)))
        for role in (BI_READER, AUDITOR, ANALYSTS):
            for schema in ("raw", "staging", "intermediate", "snapshots"):
                conn.execute(sql.SQL("revoke all on schema {} from {}").format(_ident(schema), _ident(role)))
        conn.execute(sql.SQL("revoke all on schema audit from {}, {}").format(_ident(BI_READER), _ident(ANALYSTS)))

        secured, open_to_analysts = [], []
        for table in _tables(conn, "marts"):
            t = _ident("marts", table)
            col = None if table in REFERENCE_TABLES else _district_column(conn, table)
            if col is None:
                conn.execute(sql.SQL("alter table {} disable row level security").format(t))
                if table in REFERENCE_TABLES:
                    conn.execute(sql.SQL("grant select on {} to {}").format(t, _ident(ANALYSTS)))
                    open_to_analysts.append(table)
                else:
                    conn.execute(sql.SQL("revoke all on {} from {}").format(t, _ident(ANALYSTS)))
                continue
            joint = col == "district_code" and JOINT_COLUMN in _columns(conn, table)
            conn.execute(sql.SQL("alter table {} enable row level security").format(t))
            conn.execute(sql.SQL("drop policy if exists stic_all_rows on {}").format(t))
            conn.execute(sql.SQL("create policy stic_all_rows on {} for select to {}, {}, {} using (true)").format(
                t, _ident(BI_READER), _ident(AUDITOR), _ident(TRANSFORMER)))
            for d in districts:
                pol = _ident(f"stic_district_{d.lower()}")
                conn.execute(sql.SQL("drop policy if exists {} on {}").format(pol, t))
                conn.execute(sql.SQL("create policy {} on {} for select to {} using ({})").format(
                    pol, t, _ident(analyst_role(d)), _district_policy(d, col, joint)))
            conn.execute(sql.SQL("grant select on {} to {}").format(t, _ident(ANALYSTS)))
            secured.append(table)
    log.info("row-level security on %d mart tables: %s", len(secured), ", ".join(secured))
    return {"row_level_security": secured, "open_to_analysts": open_to_analysts,
            "roles": [LOADER, TRANSFORMER, BI_READER, AUDITOR] + [analyst_role(d) for d in districts]}
