"""Row rules end to end (real PostgreSQL, GX and dbt): numbers that cannot be held, who may report what,
open classifying codes, and precedence between districts."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from stic import pipeline
from stic.cli import main
from stic.warehouse import dbt_runner as dbt

HEADER = "project_code,title,level,field,lead_institution,institution_type,district,start_date,status,funding_central_yuan"


def _csv(tmp_path, name: str, *rows: str, header: str = HEADER):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def warehouse(warehouse_url, tmp_path_factory):
    """Five submissions, loaded and built once: the tests below read what they left."""
    from stic.contract.kinds import KINDS
    from stic.warehouse import db

    with psycopg.connect(warehouse_url, autocommit=True) as c:
        # Marts of earlier tests would keep rows of submission ids that restart below (incremental facts).
        c.execute("drop schema if exists marts, intermediate, staging, snapshots cascade")
        db.init_schema(c)
        c.execute("truncate audit.submissions, audit.loads, audit.rejected_rows, audit.validation_runs, "
                  "audit.validation_results, audit.submission_events restart identity cascade")
        for k in KINDS:
            c.execute(f"truncate raw.{k}")
    tmp = tmp_path_factory.mktemp("row_rules")
    out = {}
    # `stic ingest` itself, as a submitter's file arrives: the huge amount must not stop the load
    huge = _csv(tmp, "pd_huge.csv",
                "P-1,Chip line,municipal,integrated circuits,Fudan,university,PD,2018-01-01,underway,100",
                "P-2,Huge,municipal,energy,Fudan,university,PD,2018-01-01,underway,1e1000000")
    out["cli_code"] = main(["ingest", str(huge), "--submitter", "PD", "--kind", "projects", "--period", "2018"])
    out["pd_mixed"] = pipeline.ingest_file(_csv(
        tmp, "pd_mixed.csv",
        "P-3,Ours,municipal,合成生物学,Fudan,新型研发机构,浦东,2018-01-01,underway,5",
        "P-4,Huangpu's,municipal,energy,Fudan,university,黄浦,2018-01-01,underway,7",
        "G-1,Claimed first by PD,municipal,energy,Fudan,university,PD,2018-01-01,underway,1",
        header=HEADER), submitter="PD", kind="projects", period="2018Q1")
    out["pd_joint"] = pipeline.ingest_file(_csv(
        tmp, "pd_joint.csv",
        "J-1,Joint lab,municipal,energy,Fudan,university,黄浦,2018-01-01,underway,9,浦东",
        header=HEADER + ",joint_with"), submitter="PD", kind="projects", period="2019")
    # HP's own report of J-1 (an earlier period) stays canonical over its partner PD's later one;
    # HP's later claim on G-1, which PD reported first as its own, does not override PD's record
    out["hp"] = pipeline.ingest_file(_csv(
        tmp, "hp.csv",
        "J-1,Joint lab (HP),municipal,energy,Fudan,university,HP,2018-01-01,underway,8",
        "G-1,Claimed later by HP,municipal,energy,Fudan,university,HP,2018-01-01,underway,2",
        header=HEADER), submitter="HP", kind="projects", period="2018")
    # Platform assessments carry no district: the platform's published facility record decides (FP-1 is HP's)
    out["hp_platform"] = pipeline.ingest_file(_csv(
        tmp, "hp_platform.csv", "FP-1,Hub,functional_platform,energy,HP,in_operation",
        header="facility_code,name,facility_type,field,district,status"), submitter="HP", kind="facilities", period="2018")
    out["pd_assessment"] = pipeline.ingest_file(_csv(
        tmp, "pd_assessment.csv", "FP-1,2018,90", "FP-9,2018,80",
        header="platform_code,assessment_year,score"), submitter="PD", kind="platform_assessments", period="2018")
    dbt.run(["build", "--select", "+fct_projects", "+rpt_reporting_conflicts", "+rpt_unmapped_codes",
             "--indirect-selection", "cautious"], quiet=True)
    out["url"] = warehouse_url
    return out


@pytest.fixture()
def wh(warehouse):
    with psycopg.connect(warehouse["url"], autocommit=True) as c:
        yield c


@pytest.mark.slow
def test_an_amount_of_1e1000000_is_quarantined_and_the_submission_published(warehouse, wh):
    assert warehouse["cli_code"] == 0
    sub = wh.execute("select status, rows_loaded, rows_quarantined from audit.submissions where original_name = "
                     "'pd_huge.csv'").fetchone()
    assert sub == ("published", 1, 1)
    assert wh.execute("select source_row_number, column_name, submitted_value, rule, severity from audit.rejected_rows "
                      "r join audit.submissions s using (submission_id) where s.original_name = 'pd_huge.csv'"
                      ).fetchall() == [(3, "funding_central_yuan", "1e1000000", "number_parse", "critical")]
    assert wh.execute("select funding_central_yuan from marts.fct_projects where project_code = 'P-1'").fetchone() == (
        Decimal("100.00"),)


@pytest.mark.slow
def test_a_pudong_row_booked_to_huangpu_is_quarantined(warehouse, wh):
    assert (warehouse["pd_mixed"].status, warehouse["pd_mixed"].rows_loaded, warehouse["pd_mixed"].rows_quarantined) == (
        "published", 2, 1)
    [(row, column, value, rule, message)] = wh.execute(
        "select source_row_number, column_name, submitted_value, rule, message from audit.rejected_rows "
        "where submission_id = %s", (warehouse["pd_mixed"].submission_id,)).fetchall()
    assert (row, column, value, rule) == (3, "district", "HP", "district_mismatch")
    assert "PD may report only its own district's rows" in message
    assert wh.execute("select count(*) from marts.fct_projects where project_code = 'P-4'").fetchone() == (0,)


@pytest.mark.slow
def test_an_unlisted_field_and_institution_type_are_published_as_other_and_listed(warehouse, wh):
    raw = wh.execute("select field, field_submitted, institution_type, institution_type_submitted, row_warnings "
                     "from raw.projects where project_code = 'P-3'").fetchone()
    assert raw == ("other", "合成生物学", "other", "新型研发机构", ["code_unlisted"])
    mart = wh.execute("select field_code, field_submitted, lead_institution_type, lead_institution_type_submitted "
                      "from marts.fct_projects where project_code = 'P-3'").fetchone()
    assert mart == ("other", "合成生物学", "other", "新型研发机构")
    listed = wh.execute("select submitter_code, submission_kind, column_name, submitted_value, row_count, "
                        "published_row_count from marts.rpt_unmapped_codes order by column_name").fetchall()
    assert listed == [("PD", "projects", "field", "合成生物学", 1, 1),
                      ("PD", "projects", "institution_type", "新型研发机构", 1, 1)]


@pytest.mark.slow
def test_the_owner_districts_record_wins_and_the_clash_is_listed_with_both_values(warehouse, wh):
    canonical = dict(wh.execute("select project_code, submitter_code from marts.fct_projects "
                                "where project_code in ('J-1', 'G-1')").fetchall())
    assert canonical == {"J-1": "HP", "G-1": "PD"}
    conflicts = wh.execute(
        "select business_key, canonical_submitter_code, canonical_district_code, reported_district_codes, "
        "is_district_clash from marts.rpt_reporting_conflicts order by business_key").fetchall()
    assert conflicts == [("G-1", "PD", "PD", "HP:HP,PD:PD", True), ("J-1", "HP", "HP", "HP:HP,PD:HP", True)]



@pytest.mark.slow
def test_a_district_may_not_assess_another_districts_platform(warehouse, wh):
    assert warehouse["hp_platform"].status == "published"
    out = warehouse["pd_assessment"]
    assert (out.status, out.rows_loaded, out.rows_quarantined) == ("published", 1, 1)
    [(row, column, value, rule)] = wh.execute(
        "select source_row_number, column_name, submitted_value, rule from audit.rejected_rows "
        "where submission_id = %s", (out.submission_id,)).fetchall()
    assert (row, column, value, rule) == (2, "platform_code", "FP-1", "district_mismatch")
    assert wh.execute("select platform_code from raw.platform_assessments where submission_id = %s",
                      (out.submission_id,)).fetchall() == [("FP-9",)]
