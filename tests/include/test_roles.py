"""Roles for BI tools, auditors and district analysts: what each can read, proven by connecting as them."""

from __future__ import annotations

from urllib.parse import urlparse, urlunparse

import psycopg
import pytest

from stic import pipeline
from stic.warehouse import dbt_runner as dbt
from stic.warehouse import roles


def _as(url: str, role: str) -> psycopg.Connection:
    p = urlparse(url)
    netloc = f"{role}@{p.hostname}:{p.port}" if p.hostname else f"{role}@"
    return psycopg.connect(urlunparse(p._replace(netloc=netloc)), autocommit=True)


def _can_read(conn, table: str) -> bool:
    try:
        conn.execute(f"select count(*) from {table}").fetchone()
        return True
    except psycopg.errors.InsufficientPrivilege:
        return False


@pytest.fixture(scope="module")
def built(warehouse_url):
    from tests.conftest import FIXTURES

    with psycopg.connect(warehouse_url, autocommit=True) as c:
        from stic.warehouse import db

        # Marts of earlier tests would keep rows of submission ids that restart below (incremental facts).
        c.execute("drop schema if exists marts, intermediate, staging, snapshots cascade")
        db.init_schema(c)
        c.execute("truncate audit.submissions, audit.loads, audit.rejected_rows, audit.validation_runs, "
                  "audit.validation_results, audit.submission_events restart identity cascade")
        c.execute("truncate raw.projects")
    for name, submitter in (("projects_ok.csv", "PD"), ("projects_bad_rows.csv", "YP")):
        assert pipeline.ingest_file(FIXTURES / "pipeline" / name, submitter=submitter, kind="projects",
                                    period="2018").status == "published"
    dbt.run(["build", "--select", "+fct_projects", "+fct_project_funding", "+dim_district", "--indirect-selection", "cautious"], quiet=True)
    with psycopg.connect(warehouse_url, autocommit=True) as c:
        first = roles.apply(c)
        second = roles.apply(c)  # idempotent
    assert first == second and "fct_projects" in first["row_level_security"]
    return warehouse_url


def test_bi_reader_reads_marts_and_nothing_else(built):
    with _as(built, roles.BI_READER) as c:
        assert _can_read(c, "marts.fct_projects") and _can_read(c, "marts.dim_district")
        assert c.execute("select count(*) from marts.fct_projects").fetchone()[0] == 4
        for table in ("raw.projects", "staging.stg_raw__projects", "audit.submissions"):
            assert not _can_read(c, table), table
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("delete from marts.fct_projects")


def test_auditor_reads_marts_and_audit(built):
    with _as(built, roles.AUDITOR) as c:
        assert _can_read(c, "marts.fct_projects") and _can_read(c, "audit.submissions")
        assert not _can_read(c, "raw.projects")


def test_district_analyst_sees_only_their_district(built):
    # P-OK-2 is booked to Xuhui and reported by PD as a joint project (joint_with PD): both districts see it
    with _as(built, roles.analyst_role("PD")) as c:
        assert sorted(r[0] for r in c.execute("select project_code from marts.fct_projects")) == [
            "P-OK-1", "P-OK-2", "P-OK-3"]
        assert c.execute("select count(*) from marts.dim_district").fetchone()[0] == 16
        assert not _can_read(c, "audit.submissions")
    with _as(built, roles.analyst_role("XH")) as c:
        assert [r[0] for r in c.execute("select project_code from marts.fct_projects")] == ["P-OK-2"]
        assert sorted(r[0] for r in c.execute("select funding_source from marts.fct_project_funding")) == [
            "central", "district", "municipal"]
    with _as(built, roles.analyst_role("YP")) as c:
        assert [r[0] for r in c.execute("select project_code from marts.fct_projects")] == ["P-Q-1"]
    with _as(built, roles.analyst_role("CM")) as c:
        assert c.execute("select count(*) from marts.fct_projects").fetchone()[0] == 0


def test_grants_and_policies_survive_a_full_rebuild(built):
    dbt.run(["build", "--select", "fct_projects", "--full-refresh", "--indirect-selection", "cautious"], quiet=True)
    with psycopg.connect(built, autocommit=True) as c:
        roles.apply(c)  # what the build DAG's secure_marts task does after every build
    with _as(built, roles.BI_READER) as c:
        assert c.execute("select count(*) from marts.fct_projects").fetchone()[0] == 4
    with _as(built, roles.analyst_role("PD")) as c:
        assert c.execute("select count(*) from marts.fct_projects").fetchone()[0] == 3
