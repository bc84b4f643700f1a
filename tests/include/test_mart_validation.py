"""After a build, every mart suite runs; a critical failure fails loudly, warnings are kept, all is stored."""

from __future__ import annotations

import pytest

from stic import pipeline
from stic.quality.gx import MartValidationFailed, mart_suites, validate_marts
from stic.warehouse import dbt_runner as dbt
from tests.conftest import FIXTURES


def test_every_mart_has_a_suite():
    import json

    from stic.warehouse.dbt_runner import manifest_path

    if not manifest_path().exists():
        dbt.parse()
    nodes = json.loads(manifest_path().read_text())["nodes"].values()
    marts = {n["name"] for n in nodes if n["resource_type"] == "model" and n["schema"] == "marts"}
    assert marts and {f"marts_{m}" for m in marts} <= set(mart_suites())


def test_a_critical_failure_on_a_mart_fails_the_build_loudly(clean_warehouse):
    c = clean_warehouse
    assert pipeline.ingest_file(FIXTURES / "pipeline" / "projects_ok.csv", submitter="PD", kind="projects",
                                period="2018").status == "published"
    dbt.run(["build", "--select", "+fct_projects", "+dim_district", "--indirect-selection", "cautious"], quiet=True)
    runs = {r.suite_name: r for r in validate_marts()}
    assert runs["marts_fct_projects"].success and runs["marts_dim_district"].success
    stored = c.execute("select count(*) from audit.validation_runs where target = 'build'").fetchone()[0]
    assert stored == len(runs)

    # A row that no published submission carries: the write-audit-publish rule is broken.
    c.execute("insert into marts.fct_projects (project_code, district_code, submission_id) values ('ROGUE', 'PD', 999999)")
    with pytest.raises(MartValidationFailed, match="marts_fct_projects: published_only"):
        validate_marts()
    failed = c.execute(
        "select r.rule, r.severity from audit.validation_results r join audit.validation_runs v using (validation_run_id) "
        "where v.target = 'build' and v.suite_name = 'marts_fct_projects' and not r.success").fetchall()
    assert ("published_only", "critical") in failed


def test_the_row_lineage_keeps_superseded_rows_but_shows_only_published_ones_in_a_mart(clean_warehouse):
    """The auditors' trail keeps every loaded row (a superseded submission's too): that is not a failure.
    A trail row claiming to be in a mart while its submission is not published is."""
    c = clean_warehouse
    first = pipeline.ingest_file(FIXTURES / "pipeline" / "projects_ok.csv", submitter="PD", kind="projects", period="2018")
    second = pipeline.ingest_file(FIXTURES / "pipeline" / "projects_correction.csv", submitter="PD", kind="projects",
                                  period="2018")
    assert second.status == "published"
    dbt.run(["build", "--select", "+rpt_row_lineage", "--indirect-selection", "cautious"], quiet=True)
    kept = c.execute("select count(*), bool_or(is_in_mart) from marts.rpt_row_lineage where submission_id = %s",
                     (first.submission_id,)).fetchone()
    assert kept[0] > 0 and kept[1] is False
    assert {r.suite_name: r for r in validate_marts()}["marts_rpt_row_lineage"].success

    c.execute("update marts.rpt_row_lineage set is_in_mart = true where submission_id = %s", (first.submission_id,))
    with pytest.raises(MartValidationFailed, match="marts_rpt_row_lineage: published_only"):
        validate_marts()
