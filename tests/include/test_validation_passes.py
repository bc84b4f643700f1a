"""The two-pass run of a suite (BOOLEAN_ONLY, then SUMMARY for failures) against one SUMMARY run, real GX.

validate.run_suite checks a batch cheaply first and asks GX for the SUMMARY (counts, examples) only of
the expectations that failed; what it records for each expectation must be what a SUMMARY run of the
whole suite records.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

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


def test_checks_passed_in_the_gate_store_what_gx_gives_each_alone(clean_warehouse, fixture_file):
    """On a batch where every check holds, the row rules, null / not-null, in-set, between and uniqueness checks
    are counted by one statement (the gate); the result stored for each is what GX returns when it validates
    that expectation alone (BOOLEAN_ONLY); GX itself validates the rest, and sees the same columns as its own
    reflection of the query asset."""
    import great_expectations as gx
    import sqlalchemy as sa
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
        gated = [e for e in suite.expectations if passes.gate_condition(e, query, "k") is not None]
        assert {e.expectation_type for e in gated} == {
            passes.ROWS_RULE, "expect_column_values_to_not_be_null", "expect_column_values_to_be_null",
            "expect_column_values_to_be_in_set", "expect_column_values_to_be_between",
            "expect_column_values_to_be_unique"}
        assert len(stored) == len(suite.expectations) > len(gated) >= 20
        batch = ctx.data_sources.get(quality.DATASOURCE).get_asset("raw_projects_batch").get_batch_definition(
            "batch").get_batch()
        alone = gx.ExpectationSuite(name="raw_projects")
        alone.expectations.extend(gated)
        for er in batch.validate(alone, result_format={"result_format": "BOOLEAN_ONLY"}).results:
            assert stored[er.expectation_config.id] == json.loads(json.dumps(er.to_json_dict()))
        ds = ctx.data_sources.get(quality.DATASOURCE)
        engine = ds.get_execution_engine()

        reflected = column_reflection_fallback(sa.text(query), engine.engine.dialect, engine.engine)
        batch.data.execution_engine.batch_manager.load_batch_list([batch])
        listed = engine.resolve_metrics([_column_types_metric(batch.id)])
        assert [c["name"] for c in next(iter(listed.values()))] == [c["name"] for c in reflected]
        assert len(reflected) > 20


CORPUS = Path(__file__).parents[1] / "fixtures" / "intake_corpus"


@pytest.mark.parametrize("case", ["f01-qp-investment", "h2c12-siptc-ip-xlsx2", "h2c10-stcsm-platform",
                                  "a03-pd-gb18030-yuan"])
def test_every_raw_suite_records_what_one_summary_run_records(clean_warehouse, case):
    """Each kind's suite, on a real submission as loaded and then with its key repeated, a required value and a
    code broken, a negative amount and an unlisted code kept: the gate and the two passes record what one
    SUMMARY run records."""
    from stic.contract.kinds import CODE, KINDS, MONEY, NUMBER
    from stic.quality.passes import PARALLEL_ROWS

    c = clean_warehouse
    spec = yaml.safe_load((CORPUS / case / "case.yml").read_text())
    reg = ledger.register(c, CORPUS / case / spec["file"], submitter=spec["submitter"], kind=spec["kind"],
                          period=str(spec["period"]))
    load_step(c, reg.submission_id)
    load_id = ledger.get(c, reg.submission_id)["load_id"]
    kind = KINDS[spec["kind"]]
    query = f"select * from raw.{kind.name} where load_id = {int(load_id)}"

    def both():
        full = run_suite(f"raw_{kind.name}", query, asset_name=f"raw_{kind.name}_batch", thorough=True)
        for rows in (None, PARALLEL_ROWS):  # the gate's plan for a small batch, and for a large one
            fast = run_suite(f"raw_{kind.name}", query, asset_name=f"raw_{kind.name}_batch", thorough=False, rows=rows)
            assert _by_expectation(fast) == _by_expectation(full)
        return fast

    assert both().success
    keys = [r[0] for r in c.execute(f"select {kind.key} from raw.{kind.name} where load_id = %s order by 1",
                                    (load_id,)).fetchall()]
    assert len(keys) >= 2
    required = [col.name for col in kind.columns if col.required and col.name != kind.key]
    coded = [col.name for col in kind.columns if col.type == CODE]
    amounts = [col.name for col in kind.columns if col.type in (MONEY, NUMBER)]
    sets = [f"{required[0]} = null"] if required else []
    sets += [f"{coded[0]} = 'ZZ-UNLISTED'"] if coded else []
    sets += [f"{amounts[0]} = -1"] if amounts else []
    sets += [f"{col.name} = 'kept as sent'" for col in kind.derived_columns][:1]
    c.execute(f"update raw.{kind.name} set {', '.join(sets)} where load_id = %s and {kind.key} = %s",
              (load_id, keys[-1]))
    c.execute(f"update raw.{kind.name} set {kind.key} = %s where load_id = %s and {kind.key} = %s",
              (keys[0], load_id, keys[1]))
    broken = both()
    failed = {r["rule"] for r in broken.results if not r["success"]}
    assert "duplicate_key" in failed and not broken.success
    assert ("required" in failed) == bool(required) and ("amount_non_negative" in failed) == bool(amounts)


def _column_types_metric(batch_id):
    from great_expectations.validator.metric_configuration import MetricConfiguration

    return MetricConfiguration("table.column_types", {"batch_id": batch_id}, {"include_nested": True})


def test_a_gate_the_database_refuses_leaves_every_check_to_gx(clean_warehouse, fixture_file, caplog):
    """A between check on a text column cannot be counted in SQL (text >= number): the gate is refused, said in
    the log, and GX validates every expectation itself, the refused one failing with GX's own exception."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    from stic.quality import gx as quality
    from stic.quality import passes
    from stic.warehouse import db

    c = clean_warehouse
    _sid, load_id = _load(c, fixture_file)
    query = f"select * from raw.projects where load_id = {int(load_id)}"
    with quality._gx_context(db.warehouse_url()) as (_gx, ctx):
        _suite, ds = quality._suite_and_source(ctx, "raw_projects")
        suite = ctx.suites.add_or_update(gx.ExpectationSuite(name="refused_gate", expectations=[
            gxe.ExpectColumnValuesToNotBeNull(column="project_code"),
            gxe.ExpectColumnValuesToBeBetween(column="title", min_value=0),
            gxe.ExpectTableRowCountToBeBetween(min_value=1)]))
        definition = quality._new_query_asset(ds, "raw_projects_refused", query)
        with caplog.at_level("WARNING", logger="stic.quality.passes"):
            results = passes.two_pass(gx, ctx, ds, suite, definition, query)
    assert "validation gate refused" in caplog.text
    by_type = {er.expectation_config.type: (er, summary) for er, summary in results}
    (code, code_summary), (title, title_summary), (rows, rows_summary) = (by_type[t] for t in (
        "expect_column_values_to_not_be_null", "expect_column_values_to_be_between",
        "expect_table_row_count_to_be_between"))
    assert code.success and code_summary == {"element_count": 3, "unexpected_count": 0, "unexpected_percent": 0.0}
    assert not title.success and title_summary is None and "operator does not exist" in str(title.exception_info)
    assert rows.success and rows_summary == {"observed_value": 3}


def test_joint_partners_outside_the_code_list_are_found_by_the_gate_in_parallel_too(clean_warehouse, fixture_file):
    """The joint-partner rule (every code of joint_with in the district list) on rows naming an unknown district and
    an empty code: the gate, planned for parallel workers as for a large load, records what one SUMMARY run does."""
    from stic.quality.passes import PARALLEL_ROWS

    c = clean_warehouse
    _sid, load_id = _load(c, fixture_file)
    c.execute("update raw.projects set joint_with = 'PD,HP' where load_id = %s and project_code = 'P-OK-1'", (load_id,))
    c.execute("update raw.projects set joint_with = 'PD,ZZ' where load_id = %s and project_code = 'P-OK-2'", (load_id,))
    c.execute("update raw.projects set joint_with = 'PD,' where load_id = %s and project_code = 'P-OK-3'", (load_id,))
    query = f"select * from raw.projects where load_id = {int(load_id)}"
    full = run_suite("raw_projects", query, asset_name="raw_projects_batch", thorough=True)
    for rows in (None, PARALLEL_ROWS):
        fast = run_suite("raw_projects", query, asset_name="raw_projects_batch", thorough=False, rows=rows)
        assert _by_expectation(fast) == _by_expectation(full)
    [joint] = [r for r in fast.results if r["rule"] == "code_list" and r["column"] is None]
    assert (joint["success"], joint["unexpected_count"]) == (False, 2)
