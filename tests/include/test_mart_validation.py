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


@pytest.mark.slow
def test_a_critical_failure_on_a_mart_fails_the_build_loudly(clean_warehouse):
    c = clean_warehouse
    assert pipeline.ingest_file(FIXTURES / "pipeline" / "projects_ok.csv", submitter="PD", kind="projects",
                                period="2018").status == "published"
    dbt.run(["build", "--select", "+fct_projects", "+dim_district", "--indirect-selection", "cautious"], quiet=True)
    runs = {r.suite_name: r for r in validate_marts()}
    assert runs["marts_fct_projects"].success and runs["marts_dim_district"].success
    stored = c.execute("select count(*) from audit.validation_runs where target = 'build'").fetchone()[0]
    assert stored == len(runs)
    _fast_is_thorough(c, ["marts_fct_projects", "marts_dim_district"])

    # A row that no published submission carries: the write-audit-publish rule is broken.
    c.execute("insert into marts.fct_projects (project_code, district_code, submission_id) values ('ROGUE', 'PD', 999999)")
    with pytest.raises(MartValidationFailed, match="marts_fct_projects: published_only"):
        validate_marts()
    failed = c.execute(
        "select r.rule, r.severity from audit.validation_results r join audit.validation_runs v using (validation_run_id) "
        "where v.target = 'build' and v.suite_name = 'marts_fct_projects' and not r.success").fetchall()
    assert ("published_only", "critical") in failed
    c.execute("insert into marts.fct_projects (project_code, district_code, submission_id) values ('ROGUE-2', 'ZZ', null)")
    _fast_is_thorough(c, ["marts_fct_projects"])


def _fast_is_thorough(c, suites):
    """The gate and two passes record for a mart suite what one SUMMARY run of it records."""
    from stic.quality.gx import load_suite_module, run_suite

    keys = ("expectation_type", "column", "rule", "success", "observed_value", "element_count", "unexpected_count",
            "unexpected_percent", "examples", "exception")
    for name in suites:
        schema, rel = load_suite_module(name).TABLE.split(".")
        query = f'select * from "{schema}"."{rel}"'
        fast, full = (run_suite(name, query, asset_name=name, thorough=t) for t in (False, True))
        assert sorted(repr(tuple(r[k] for k in keys)) for r in fast.results) == sorted(
            repr(tuple(r[k] for k in keys)) for r in full.results)


@pytest.mark.slow
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


DEMO_YML = """
version: 2
models:
  - name: fct_demo
    config:
      contract: {enforced: true}
    columns:
      - {name: demo_id, data_type: text, constraints: [{type: primary_key}]}
      - {name: district_code, data_type: text}
      - {name: submission_id, data_type: bigint}
      - {name: grant_yuan, data_type: numeric}
  - name: fct_loose
    columns:
      - {name: loose_id, data_type: text}
"""


def _checks(suite) -> list[tuple[str, str | None]]:
    return [(e.meta["rule"], getattr(e, "column", None)) for e in suite.expectations]


def test_a_mart_suite_is_a_package_module_whose_columns_are_the_dbt_contract(tmp_path, monkeypatch):
    """From any cwd and without sys.path, a suite imports `._common`, which reads the model's columns and key
    from the manifest when it is as new as the marts' yml, else from the yml."""
    import json
    import os
    import shutil
    import sys

    from stic.quality.gx import SUITES_PACKAGE, load_suite_module

    root = tmp_path / "project"
    shutil.copytree(FIXTURES.parent.parent / "expectations", root / "expectations")
    (root / "expectations" / "marts_fct_demo.py").write_text(
        'from ._common import mart_suite\n\nTABLE = "marts.fct_demo"\n\n\ndef build_suite():\n    return mart_suite(TABLE)\n')
    (root / "expectations" / "marts_fct_loose.py").write_text(
        'from ._common import mart_suite\n\nTABLE = "marts.fct_loose"\n\n\ndef build_suite():\n    return mart_suite(TABLE)\n')
    yml = root / "dbt_project" / "models" / "marts" / "demo" / "_demo__models.yml"
    yml.parent.mkdir(parents=True)
    yml.write_text(DEMO_YML)
    manifest = tmp_path / "manifest.json"
    monkeypatch.setenv("STIC_HOME", str(root))
    monkeypatch.setenv("STIC_DBT_MANIFEST", str(manifest))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    path_before = list(sys.path)

    suite = load_suite_module("marts_fct_demo").build_suite()
    assert sys.modules[f"{SUITES_PACKAGE}.marts_fct_demo"].__file__ == str(root / "expectations" / "marts_fct_demo.py")
    assert sys.path == path_before
    assert suite.name == "marts_fct_demo"
    assert _checks(suite) == [("primary_key", "demo_id"), ("primary_key", "demo_id"), ("code_list", "district_code"),
                              ("amount_non_negative", "grant_yuan"), ("published_only", None)]
    with pytest.raises(LookupError, match="not an enforced contract"):
        load_suite_module("marts_fct_loose").build_suite()

    # A manifest newer than the yml is read instead (here: one more money column, no submission_id)...
    pk = {"demo_id": [{"type": "primary_key"}]}
    manifest.write_text(json.dumps({"nodes": {"model.x.fct_demo": {
        "resource_type": "model", "name": "fct_demo", "original_file_path": "models/marts/demo/fct_demo.sql",
        "config": {"contract": {"enforced": True}}, "constraints": [],
        "columns": {c: {"name": c, "constraints": pk.get(c, [])} for c in ("demo_id", "district_code", "grant_yuan", "loan_yuan")}}}}))
    later = yml.stat().st_mtime_ns + 10**9
    os.utime(manifest, ns=(later, later))
    assert _checks(load_suite_module("marts_fct_demo").build_suite()) == [
        ("primary_key", "demo_id"), ("primary_key", "demo_id"), ("code_list", "district_code"),
        ("amount_non_negative", "grant_yuan"), ("amount_non_negative", "loan_yuan")]
    # ...a key the suite names (a natural key) wins over the contract's...
    mart_suite = sys.modules[f"{SUITES_PACKAGE}._common"].mart_suite
    assert _checks(mart_suite("marts.fct_demo", key=["demo_id", "grant_yuan"]))[:3] == [
        ("primary_key", "demo_id"), ("primary_key", "grant_yuan"), ("primary_key", None)]
    # ...and a yml edited after the last parse wins over the manifest.
    os.utime(manifest, ns=(later - 2 * 10**9, later - 2 * 10**9))
    assert ("amount_non_negative", "loan_yuan") not in _checks(load_suite_module("marts_fct_demo").build_suite())


def test_no_mart_suite_restates_its_columns():
    from stic.config import settings

    for path in settings().expectations_dir.glob("marts_*.py"):
        assert "COLUMNS" not in path.read_text(), f"{path.name}: take the columns from the dbt contract (mart_contract)"
