"""Receipts against a real PostgreSQL and real Great Expectations: content, escaping, freezing, versions."""

from __future__ import annotations

import json
import shutil

import pytest

from stic import ledger, pipeline
from stic.contract import messages
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


def test_a_rejected_files_unread_columns_are_not_said_to_hold_no_amounts(clean_warehouse, tmp_path):
    path = tmp_path / "pd.csv"
    path.write_text("项目编号,项目名称,所属区,财政资助（万元）,立项日期\nP-1,甲,浦东新区,120.5,2025-03-01\n", encoding="utf-8")
    out = pipeline.ingest_file(path, submitter="PD", kind="projects", period="2018")
    assert out.status == "rejected"
    data = receipts.receipt_data(clean_warehouse, out.submission_id)
    html = receipts.render_html(data)
    assert "财政资助(万元)" in html and "Columns not read (the file was not loaded)" in html
    assert "they hold no amounts" not in html


def test_quarantined_rows_receipt_shows_the_reasons_in_chinese_first(clean_warehouse, fixture_file):
    out = ingest(fixture_file, "projects_bad_rows.csv", submitter="YP")
    json_path, html_path = receipts.write_receipt(clean_warehouse, out.submission_id)
    html = html_path.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html
    # the reasons, in the catalogue's Chinese, each before its English
    for zh, en in (
        ("该值不在字段的代码表中。", "The value is not in the field&#39;s code list."),
        ("金额和数量不得为负数。", "Amounts and counts must not be negative."),
        ("项目的结束日期不得早于开始日期。", "A project must not end before it starts."),
        ("同一编号在一次报送中出现多次；只保留第一行。",
         "The same code appears more than once in one submission; only the first row is kept."),
    ):
        assert f'<span lang="zh-CN">{zh}</span> <span lang="en" class="en">{en}</span>' in html
    assert '<span lang="zh-CN">该值不是日期（应写作例如 2018-06-30 或 2018年6月30日）。</span>' in html
    reasons = html.split('id="quarantine-reasons"')[1].split("</table>")[0]
    assert reasons.count('<span lang="zh-CN">') == 5 + 6  # the five reasons and the six headings
    assert ('<span lang="zh-CN">该值不在字段的代码表中。</span> <span lang="en" class="en">&#39;Atlantis&#39; is not a '
            'known district') in reasons
    # what to fix, in Chinese with the columns and values filled in
    fixes = html.split('id="what-to-fix"')[1].split("</section>")[0]
    assert ("district 请使用代码表中的值——代码、英文名称或中文名称均可（例如 PD、Pudong 或 浦东新区）；"
            "以下值无法识别：&#39;Atlantis&#39;。") in fixes
    assert "请更正 funding_municipal_yuan 中为负数的金额或数量：必须大于或等于零。" in fixes
    assert '<span class="badge s-critical"><span lang="zh-CN">严重</span> <span lang="en" class="en">critical</span></span>' in fixes
    assert html.index("需要修改什么") < html.index("What to fix")
    sid = out.submission_id
    assert f'<h1><span lang="zh-CN">第 {sid} 号提交的回执</span> <span lang="en" class="en">Receipt for submission {sid}</span></h1>' in html
    assert f'<span lang="zh-CN">{messages.term(out.status, "zh")}</span>' in html.split('id="status"')[1].split("</p>")[0]

    # the JSON: the same English keys and values, the Chinese beside them in *_zh fields
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["status_zh"] == messages.term(data["status"], "zh") == "已发布"
    rules = {g["rule"]: g for g in data["failed_rules"]}
    assert {"rule", "severity", "description", "source", "problems", "rows", "columns", "values", "examples",
            "what_to_fix", "example_columns", "description_zh", "what_to_fix_zh"} == set(rules["code_list"])
    assert rules["code_list"]["description_zh"] == messages.message("code_list", "zh") == "该值不在字段的代码表中。"
    assert rules["date_parse"]["what_to_fix_zh"] == "start_date 中的日期请写作 2018-06-30 或 2018年6月30日。"
    fix = {f["rule"]: f for f in data["what_to_fix"]}
    assert set(fix["duplicate_key"]) == {"rule", "severity", "advice", "advice_zh"}
    assert fix["duplicate_key"]["advice_zh"] == "请在 project_code 中为每一行填写各自的编号，或删除重复的行（只保留第一行）。"
    q = data["intake"]["quarantine"]
    assert [(r["row"], r["rule"], r["message_zh"]) for r in q["reasons"]][:2] == [
        (3, "code_list", "该值不在字段的代码表中。"), (4, "amount_non_negative", "金额和数量不得为负数。")]
    assert {r["rule"]: r["description_zh"] for r in q["per_rule"]}["start_before_end"] == "项目的结束日期不得早于开始日期。"


def test_the_english_of_a_receipt_is_unchanged(clean_warehouse, fixture_file):
    """The English texts (JSON values, and the HTML's English beside the Chinese) are what they always were."""
    out = ingest(fixture_file, "projects_bad_rows.csv", submitter="YP")
    json_path, html_path = receipts.write_receipt(clean_warehouse, out.submission_id)
    data = json.loads(json_path.read_text(encoding="utf-8"))
    rules = {g["rule"]: g for g in data["failed_rules"]}
    assert rules["code_list"]["description"] == "The value is not in the field's code list."
    assert rules["code_list"]["what_to_fix"] == (
        "Use a value from the code list for district — its code, English or Chinese name (e.g. PD, Pudong or 浦东新区); "
        "these values were not recognised: 'Atlantis'.")
    assert rules["amount_non_negative"]["what_to_fix"] == (
        "Correct the negative amounts or counts in funding_municipal_yuan: they must be zero or more.")
    assert rules["start_before_end"]["what_to_fix"] == (
        "Check the start and end dates: a project must not end before it starts.")
    assert rules["duplicate_key"]["description"] == (
        "The same code appears more than once in one submission; only the first row is kept.")
    assert rules["date_parse"]["what_to_fix"] == "Write the dates in start_date as 2018-06-30 or 2018年6月30日."
    assert [f["advice"] for f in data["what_to_fix"]] == [g["what_to_fix"] for g in data["failed_rules"]]
    assert data["intake"]["quarantine"]["reasons"][1]["message"] == "funding_municipal_yuan '-5' is negative"
    # rules the catalogue words with the general advice, and a file rule, as before
    assert receipts.what_to_fix("district_mismatch") == (
        "A district reports only its own district's rows; a row booked to another district is accepted only when it "
        "names the submitter in joint_with. Correct the rows listed under rule district_mismatch and send the file again.")
    assert receipts.what_to_fix("unmapped_amount").startswith("Rename the column named above so that it says which amount")
    assert receipts.what_to_fix("duplicate", values=[7]) == (
        "Nothing to fix: the same file was received before (submission 7); it was not loaded twice.")
    assert receipts.what_to_fix("no_valid_rows") == (
        "No row passed the critical rules: fix the rows listed below and send the whole file again.")
    html = html_path.read_text(encoding="utf-8")
    for en in ("Why rows were quarantined", "What to fix", "Rules that failed", "Status history",
               "1 of 6 row(s) accepted; 5 quarantined (not published: see the rules below).",
               "Check the start and end dates: a project must not end before it starts."):
        assert f'<span lang="en" class="en">{en}</span>' in html
