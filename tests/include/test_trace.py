"""`stic trace` and the lineage mart on a real PostgreSQL and dbt: a fact row back to its file, row and cells."""

from __future__ import annotations

import hashlib

import psycopg
import pytest

from stic import pipeline
from stic.cli import main
from stic.reports import trace
from stic.warehouse import dbt_runner as dbt
from stic.warehouse import roles
from tests.conftest import reset_warehouse

HEADER = ("project_code,title,level,programme,field,lead_institution,institution_type,district,start_date,end_date,"
          "status,funding_central_yuan")


def _file(tmp, name, rows):
    path = tmp / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def traced(warehouse_url, tmp_path_factory):

    tmp = tmp_path_factory.mktemp("trace-files")
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        reset_warehouse(conn)
    ing = {}
    ing["pd_v1"] = pipeline.ingest_file(_file(tmp, "pd.csv", [
        "P-1,Chips,national_major,other,integrated_circuits,Fudan,university,PD,2018-01-01,,underway,\"1,000\"",
        "P-2,Brains,municipal,other,brain_science,ION,research_institute,PD,2018-02-01,,planned,5"]),
        submitter="PD", kind="projects", period="2018")
    ing["pd_v2"] = pipeline.ingest_file(_file(tmp, "pd_v2.csv", [
        "P-1,Chips,national_major,other,integrated_circuits,Fudan,university,PD,2018-01-01,,underway,1200"]),
        submitter="PD", kind="projects", period="2018")
    stcsm = _file(tmp, "stcsm.csv", [
        "P-0,Other,municipal,other,marine,SIO,research_institute,HP,2018-01-01,,underway,1",
        "P-1,Chip lab,national_major,other,integrated_circuits,Fudan University,university,PD,2018-01-01,,underway,"
        "1234.50"])
    ing["stcsm"] = pipeline.ingest_file(stcsm, submitter="STCSM", kind="projects", period="2018")
    ing["yp_bad"] = pipeline.ingest_file(_file(tmp, "yp.csv", [
        "Y-1,Ships,municipal,other,marine,SMU,university,YP,2018-01-01,,underway,1",
        "P-1,Chips,galactic,other,integrated_circuits,Fudan,university,YP,2018-01-01,,underway,1"]),
        submitter="YP", kind="projects", period="2018")
    assert [o.status for o in ing.values()] == ["published"] * 4  # pd_v1 until pd_v2 corrected it
    dbt.run(["build", "--select", "+fct_projects", "+rpt_row_lineage", "--indirect-selection", "cautious"], quiet=True)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        roles.apply(conn)
        yield conn, ing, hashlib.sha256(stcsm.read_bytes()).hexdigest()


@pytest.mark.slow
def test_a_fact_row_is_traced_to_its_file_row_and_cells(traced):
    conn, ing, sha = traced
    t = trace.trace(conn, "fct_projects", "P-1")
    s = t["source"]
    assert s["submission_id"] == ing["stcsm"].submission_id and t["mart_rows"][0]["submission_id"] == s["submission_id"]
    assert s["file"]["name"] == "stcsm.csv" and s["file"]["sha256"] == sha
    assert s["file"]["archive_path"].endswith(f"/{sha}")
    assert s["row"] == 3 and s["sheet"] is None  # the header is row 1, P-0 row 2
    assert s["submitted"]["cells"]["funding_central_yuan"] == "1234.50"  # re-read from the archived original
    assert str(s["normalised"]["funding_central_yuan"]) == "1234.50"  # exact, as loaded
    assert s["validation_runs"] and s["validation_runs"][0]["suite_name"] == "raw_projects"
    assert s["publication"]["status"] == "published"
    assert [e["to_status"] for e in s["publication"]["events"]] == ["received", "parsed", "validated", "published"]


@pytest.mark.slow
def test_every_other_report_of_the_key_says_why_it_lost(traced):
    conn, ing, _ = traced
    others = {o["submission_id"]: o for o in trace.trace(conn, "fct_projects", "P-1")["other_reports"]}
    assert set(others) == {ing["pd_v1"].submission_id, ing["pd_v2"].submission_id, ing["yp_bad"].submission_id}
    assert others[ing["pd_v1"].submission_id]["why_not"].startswith(
        f"corrected: superseded by submission {ing['pd_v2'].submission_id}")
    assert others[ing["pd_v2"].submission_id]["why_not"] == "an agency's report (STCSM) beats a district's (PD)"
    yp = others[ing["yp_bad"].submission_id]
    assert yp["status"] == "quarantined row" and yp["row"] == 3 and "galactic" in yp["why_not"]


@pytest.mark.slow
def test_the_cli_prints_the_trace_and_names_an_unknown_key(traced, capsys):
    assert main(["trace", "fct_projects", "P-1"]) == 0
    out = capsys.readouterr().out
    assert "stcsm.csv" in out and "funding_central_yuan: 1234.50" in out and "Other reports of the same key:" in out
    assert main(["trace", "fct_projects", "NOPE"]) == 1
    assert "no submission reported project_code 'NOPE'" in capsys.readouterr().out


@pytest.mark.slow
def test_the_lineage_mart_is_for_auditors_not_bi_tools(traced):
    conn, ing, sha = traced
    rows = conn.execute(
        "select submission_id, source_row_number, sha256, archive_path, submission_status, is_in_mart "
        "from marts.rpt_row_lineage where business_key = 'P-1' order by submission_id").fetchall()
    assert [(r[0], r[4], r[5]) for r in rows] == [
        (ing["pd_v1"].submission_id, "superseded", False), (ing["pd_v2"].submission_id, "published", False),
        (ing["stcsm"].submission_id, "published", True)]
    assert rows[2][2] == sha and rows[2][3] == f"archive/sha256/{sha[:2]}/{sha}"
    conn.execute("set role stic_auditor")
    try:
        assert conn.execute("select count(*) from marts.rpt_row_lineage").fetchone()[0] >= 5
    finally:
        conn.execute("reset role")
    conn.execute("set role stic_bi_reader")
    try:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from marts.rpt_row_lineage")
    finally:
        conn.execute("reset role")
