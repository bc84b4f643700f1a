"""The two-pass run of a suite (BOOLEAN_ONLY, then SUMMARY for failures) against one SUMMARY run, real GX.

validate.run_suite checks a batch cheaply first and asks GX for the SUMMARY (counts, examples) only of
the expectations that failed; what it records for each expectation must be what a SUMMARY run of the
whole suite records.
"""

from __future__ import annotations

import json

from stic import ledger
from stic.pipeline import load_step, validate_step
from stic.quality.gx import run_suite

KEYS = ("expectation_type", "column", "rule", "severity", "description", "success", "observed_value",
        "element_count", "unexpected_count", "unexpected_percent", "examples", "exception")


def _load(c, fixture_file, period="2018"):
    reg = ledger.register(c, fixture_file("pipeline/projects_ok.csv"), submitter="PD", kind="projects", period=period)
    load_step(c, reg.submission_id)
    sub = ledger.get(c, reg.submission_id)
    return reg.submission_id, sub["load_id"]


def _both(load_id):
    query = f"select * from raw.projects where load_id = {int(load_id)}"
    fast = run_suite("raw_projects", query, asset_name="raw_projects_batch", thorough=False)
    full = run_suite("raw_projects", query, asset_name="raw_projects_batch", thorough=True)
    return fast, full


def _by_expectation(run):
    rows = {}
    for r in run.results:
        key = (r["expectation_type"], r["column"], r["rule"])
        assert key not in rows
        rows[key] = {k: r[k] for k in KEYS}
    return rows


def test_two_passes_record_what_one_summary_run_records_on_a_clean_batch(clean_warehouse, fixture_file):
    c = clean_warehouse
    _sid, load_id = _load(c, fixture_file)
    c.execute("update raw.projects set programme = null where load_id = %s", (load_id,))  # percent of no values
    fast, full = _both(load_id)
    assert fast.success and full.success and fast.evaluated == full.evaluated > 10
    assert _by_expectation(fast) == _by_expectation(full)
    programme = [r for r in fast.results if r["column"] == "programme"][0]
    assert (programme["element_count"], programme["unexpected_count"], programme["unexpected_percent"]) == (3, 0, None)


def test_failures_keep_their_counts_and_examples_after_the_cheap_pass(clean_warehouse, fixture_file):
    c = clean_warehouse
    sid, load_id = _load(c, fixture_file)
    c.execute("update raw.projects set district = 'ZZ' where load_id = %s and project_code = 'P-OK-2'", (load_id,))
    c.execute("update raw.projects set funding_municipal_yuan = -5 where load_id = %s and project_code = 'P-OK-1'",
              (load_id,))
    c.execute("update raw.projects set title = null, end_date = null where load_id = %s and project_code = 'P-OK-3'",
              (load_id,))
    c.execute("update raw.projects set project_code = 'P-OK-1' where load_id = %s and project_code = 'P-OK-2'",
              (load_id,))
    fast, full = _both(load_id)
    assert _by_expectation(fast) == _by_expectation(full)
    assert (fast.success, fast.critical_failures, fast.warnings) == (False, 4, 1)
    failed = {(r["rule"], r["column"]): r for r in fast.results if not r["success"]}
    assert set(failed) == {("code_list", "district"), ("amount_non_negative", "funding_municipal_yuan"),
                           ("required", "title"), ("duplicate_key", "project_code"), ("completed_without_end", None)}
    assert (failed["code_list", "district"]["unexpected_count"], failed["code_list", "district"]["examples"]) == (1, ["ZZ"])
    assert failed["amount_non_negative", "funding_municipal_yuan"]["examples"] == ["-5.00"]
    assert failed["duplicate_key", "project_code"]["examples"] == ["P-OK-1", "P-OK-1"]
    assert failed["completed_without_end", None]["unexpected_count"] == 1

    # and through the pipeline's validation step into audit.validation_results: one row per expectation, examples for failures
    run = validate_step(c, sid)
    assert run is not None and not run.success and ledger.get(c, sid)["status"] == "rejected"
    stored = c.execute(
        "select rule, column_name, success, element_count, unexpected_count, unexpected_examples "
        "from audit.validation_results where validation_run_id = %s", (run.validation_run_id,)).fetchall()
    assert len(stored) == run.evaluated
    by = {(r[0], r[1]): r for r in stored}
    assert by["code_list", "district"][2:] == (False, 3, 1, ["ZZ"])
    assert by["code_list", "level"][2:] == (True, 3, 0, [])
    assert all(r[5] for r in stored if not r[2] and r[1] is not None)  # every failed column rule has examples


def test_the_stored_gx_result_holds_every_expectation(clean_warehouse, fixture_file):
    """Data Docs are built from GX's stored results: the two-pass run stores one per batch, failures in SUMMARY."""
    from stic.config import settings

    c = clean_warehouse
    _sid, load_id = _load(c, fixture_file)
    c.execute("update raw.projects set district = 'ZZ' where load_id = %s", (load_id,))
    folder = settings().gx_dir / "gx" / "uncommitted" / "validations" / "raw_projects"
    before = set(folder.rglob("*.json")) if folder.exists() else set()
    fast = run_suite("raw_projects", f"select * from raw.projects where load_id = {int(load_id)}",
                     asset_name="raw_projects_batch", thorough=False)
    [new] = set(folder.rglob("*.json")) - before
    doc = json.loads(new.read_text())
    assert len(doc["results"]) == fast.evaluated and doc["success"] is False
    [district] = [r for r in doc["results"] if r["expectation_config"]["kwargs"].get("column") == "district"
                  and r["expectation_config"]["type"] == "expect_column_values_to_be_in_set"]
    assert district["result"]["unexpected_count"] == 3 and district["result"]["partial_unexpected_list"] == ["ZZ"] * 3


def test_row_rules_checked_together_store_what_gx_gives_each_rule_alone(clean_warehouse, fixture_file):
    """On a batch where every row rule holds, the rules are checked by one combined query; the result stored for
    each is what GX returns when it validates that rule alone (BOOLEAN_ONLY), and GX sees the same columns as
    its own reflection of the query asset."""
    import great_expectations as gx
    from great_expectations.expectations.metrics.util import column_reflection_fallback

    from stic.config import settings
    from stic.quality import gx as quality
    from stic.quality import passes
    from stic.warehouse import db

    c = clean_warehouse
    _sid, load_id = _load(c, fixture_file)
    query = f"select * from raw.projects where load_id = {int(load_id)}"
    folder = settings().gx_dir / "gx" / "uncommitted" / "validations" / "raw_projects"
    before = set(folder.rglob("*.json")) if folder.exists() else set()
    fast = run_suite("raw_projects", query, asset_name="raw_projects_batch", thorough=False)
    assert fast.success
    [new] = set(folder.rglob("*.json")) - before
    doc = json.loads(new.read_text())
    assert doc["meta"]["batch_spec"]["query"] == query  # the asset is reused; each batch sets its query
    stored = {r["expectation_config"]["id"]: r for r in doc["results"]}
    with quality._gx_context(db.warehouse_url()) as (_gx, ctx):
        suite = ctx.suites.get("raw_projects")
        rules = [e for e in suite.expectations if e.expectation_type == passes.ROWS_RULE]
        assert len(rules) >= 4 and all(e.meta.get("where") for e in rules)
        batch = ctx.data_sources.get(quality.DATASOURCE).get_asset("raw_projects_batch").get_batch_definition(
            "batch").get_batch()
        for rule in rules:
            alone = gx.ExpectationSuite(name="raw_projects")
            alone.expectations.append(rule)
            [er] = batch.validate(alone, result_format={"result_format": "BOOLEAN_ONLY"}).results
            assert stored[rule.id] == json.loads(json.dumps(er.to_json_dict()))
        ds = ctx.data_sources.get(quality.DATASOURCE)
        engine = ds.get_execution_engine()
        import sqlalchemy as sa

        reflected = column_reflection_fallback(sa.text(query), engine.engine.dialect, engine.engine)
        batch.data.execution_engine.batch_manager.load_batch_list([batch])
        listed = engine.resolve_metrics([_column_types_metric(batch.id)])
        assert [c["name"] for c in next(iter(listed.values()))] == [c["name"] for c in reflected]
        assert len(reflected) > 20


def _column_types_metric(batch_id):
    from great_expectations.validator.metric_configuration import MetricConfiguration

    return MetricConfiguration("table.column_types", {"batch_id": batch_id}, {"include_nested": True})
