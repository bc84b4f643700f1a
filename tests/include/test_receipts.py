"""Receipts against a real PostgreSQL and real Great Expectations: content, escaping, freezing, versions."""

from __future__ import annotations

import json
import shutil

import pytest

from stic import ledger, pipeline
from stic.reports import receipts


@pytest.fixture(autouse=True)
def no_receipts(warehouse_url):
    """Each test starts with no receipts (clean_warehouse restarts submission ids at 1)."""
    shutil.rmtree(receipts.receipts_dir(), ignore_errors=True)


def ingest(fixture_file, name, submitter="PD", kind="projects", period="2018", **kw):
    return pipeline.ingest_file(fixture_file(f"pipeline/{name}"), submitter=submitter, kind=kind, period=period, **kw)


def test_bad_rows_receipt_lists_each_failed_rule_with_examples(clean_warehouse, fixture_file):
    out = ingest(fixture_file, "projects_bad_rows.csv", submitter="YP")
    json_path, html_path = receipts.write_receipt(clean_warehouse, out.submission_id)
    assert json_path.name == f"{out.submission_id}.json" and html_path.name == f"{out.submission_id}.html"
    assert json_path.parent == receipts.receipts_dir()
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["submitter"] == {"code": "YP", "en": "Yangpu", "zh": "杨浦区", "type": "district"}
    assert (data["kind"], data["period"], data["channel"]) == ("projects", "2018", "file")
    assert data["original_name"] == "projects_bad_rows.csv" and len(data["sha256"]) == 64
    assert data["bytes"] == fixture_file("pipeline/projects_bad_rows.csv").stat().st_size
    assert data["status"] == out.status and data["final"] is True
    assert data["rows"] == {"received": 6, "accepted": 1, "quarantined": 5, "with_warnings": 0}
    rules = {g["rule"]: g for g in data["failed_rules"]}
    assert set(rules) == {"code_list", "amount_non_negative", "start_before_end", "duplicate_key", "date_parse"}
    code_list = rules["code_list"]
    assert code_list["severity"] == "critical" and code_list["rows"] == 1
    assert {"row": 3, "column": "district", "value": "Atlantis"}.items() <= code_list["examples"][0].items()
    assert "Atlantis" in code_list["what_to_fix"] and "district" in code_list["what_to_fix"]
    assert rules["amount_non_negative"]["examples"][0]["row"] == 4
    assert rules["start_before_end"]["examples"][0]["row"] == 5
    assert (rules["duplicate_key"]["examples"][0]["row"], rules["date_parse"]["examples"][0]["value"]) == (6, "2018-13-45")
    fixes = {f["rule"] for f in data["what_to_fix"]}
    assert {"code_list", "amount_non_negative", "start_before_end"} <= fixes
    # the batch's validation: every expectation, with its outcome
    assert data["validation"] and data["validation"][0]["suite_name"] == "raw_projects"
    assert len(data["validation"][0]["results"]) == data["validation"][0]["evaluated"] > 10
    assert [e["to_status"] for e in data["history"]][0] == "received"
    assert data["history"][-1]["to_status"] == data["status"]
    html = html_path.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in html
    assert "Atlantis" in html and "杨浦区" in html and "code_list" in html


def test_clean_receipt_has_no_quarantined_rows(clean_warehouse, fixture_file):
    out = ingest(fixture_file, "projects_ok.csv")
    assert out.status == "published"
    json_path, html_path = receipts.write_receipt(clean_warehouse, out.submission_id)
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["rows"]["quarantined"] == 0 and data["rows"]["accepted"] == 3
    assert data["failed_rules"] == [] and data["submitter"]["zh"] == "浦东新区"
    assert [e["to_status"] for e in data["history"]] == ["received", "parsed", "validated", "published"]
    assert all(r["success"] for r in data["validation"][0]["results"] if r["severity"] == "critical")
    # P-OK-3 is completed in this 2018 report but ends 2019-06-30: a reporting-period warning, not a quarantine
    html = html_path.read_text(encoding="utf-8")
    assert "completed_end_after_period" in html and "Nothing: every rule passed." not in html


def test_submitted_values_are_escaped(clean_warehouse, fixture_file, tmp_path):
    evil = "<script>alert(1)</script>"
    src = fixture_file("pipeline/projects_bad_rows.csv").read_text(encoding="utf-8").replace("Atlantis", evil)
    path = tmp_path / "evil.csv"
    path.write_text(src, encoding="utf-8")
    out = pipeline.ingest_file(path, submitter="YP", kind="projects", period="2019",
                               original_name='<img src=x onerror="alert(2)">.csv')
    _, html_path = receipts.write_receipt(clean_warehouse, out.submission_id)
    html = html_path.read_text(encoding="utf-8")
    assert evil not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html


def test_receipt_is_frozen_until_status_changes_then_versioned(clean_warehouse, fixture_file):
    first = ingest(fixture_file, "projects_ok.csv")
    json_path, html_path = receipts.write_receipt(clean_warehouse, first.submission_id)
    frozen = json_path.read_text(encoding="utf-8")
    assert receipts.write_receipt(clean_warehouse, first.submission_id) == (json_path, html_path)
    assert json_path.read_text(encoding="utf-8") == frozen  # not rewritten
    second = ingest(fixture_file, "projects_correction.csv")
    assert second.status == "published"
    assert ledger.get(clean_warehouse, first.submission_id)["status"] == "superseded"
    receipts.write_receipt(clean_warehouse, second.submission_id)  # refreshes the superseded one too
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["status"] == "superseded" and data["receipt_version"] == 2
    assert data["superseded_by"] == second.submission_id
    assert any(f["rule"] == "superseded" for f in data["what_to_fix"])
    old = json_path.parent / "history" / f"{first.submission_id}.v1.json"
    assert json.loads(old.read_text(encoding="utf-8"))["status"] == "published"


def test_no_receipt_before_a_terminal_status_and_duplicates_get_one(clean_warehouse, fixture_file, tmp_path):
    c = clean_warehouse
    reg = ledger.register(c, fixture_file("pipeline/projects_ok.csv"), submitter="PD", kind="projects", period="2017")
    assert receipts.write_receipt(c, reg.submission_id) is None
    pipeline.process(c, reg.submission_id)
    copy = tmp_path / "again.csv"
    shutil.copy(fixture_file("pipeline/projects_ok.csv"), copy)
    dup = pipeline.ingest_file(copy, submitter="PD", kind="projects", period="2017")
    assert dup.status == "duplicate"
    written = receipts.sync_receipts(c)
    assert len(written) == 2
    data = json.loads(written[1][0].read_text(encoding="utf-8"))
    assert data["status"] == "duplicate" and data["duplicate_of"] == reg.submission_id


def test_rejected_by_submission_rules_says_what_to_fix(clean_warehouse, fixture_file):
    out = ingest(fixture_file, "projects_ok.csv", submitter="SIPTC")  # an agency that may not send projects
    assert out.status == "rejected"
    data = receipts.receipt_data(clean_warehouse, out.submission_id)
    assert data["failed_rules"][0]["rule"] == "submission_rule"
    assert data["submitter"]["zh"] == "上海知识产权交易中心"
    assert data["what_to_fix"][0]["rule"] == "submission_rule"


def test_missing_columns_is_a_file_rule(clean_warehouse, fixture_file):
    out = ingest(fixture_file, "projects_missing_column.csv")
    assert out.status == "rejected"
    data = receipts.receipt_data(clean_warehouse, out.submission_id)
    assert data["failed_rules"][0]["rule"] == "missing_columns"
    assert "missing" in data["failed_rules"][0]["message"]
