"""`stic check FILE --submitter PD --kind projects --period 2018 [--json]`: the submitters' dry run, no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stic.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def check(capsys, path: Path, *extra: str, submitter: str = "PD", kind: str = "projects", period: str = "2018"):
    code = main(["check", str(path), "--submitter", submitter, "--kind", kind, "--period", period, *extra])
    return code, capsys.readouterr().out


@pytest.fixture(autouse=True)
def no_database(monkeypatch):
    """`stic check` must never need the warehouse: point it at a database that does not exist."""
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://nobody@127.0.0.1:1/none")


def test_good_file_exits_0_and_reports_counts(capsys):
    code, out = check(capsys, FIXTURES / "files" / "projects_utf8_bom.csv")
    assert code == 0
    assert out.splitlines()[0] == "OK projects_utf8_bom.csv: 2 rows would be accepted, 0 quarantined, 0 with warnings (csv, utf-8-sig)"


def test_quarantined_rows_are_printed_with_row_and_column(capsys):
    code, out = check(capsys, FIXTURES / "files" / "projects_utf8.csv")
    assert code == 0  # 4 good rows: the file is accepted, the bad row is quarantined
    assert "OK projects_utf8.csv: 4 rows would be accepted, 1 quarantined" in out
    # the rule's meaning in Chinese (the message catalogue) first, the row's English detail beside it
    assert "  row 6, column district: 该值不在字段的代码表中。 · 'Atlantis' is not a known district" in out
    assert out.rstrip().splitlines()[1].endswith("[code_list]")


def test_xlsx_problems_name_the_sheet(capsys, tmp_path):
    code, out = check(capsys, FIXTURES / "files" / "projects_multi_sheet.xlsx")
    assert code == 0 and "5 rows would be accepted" in out and "(xlsx, n/a)" in out
    assert "note: sheets without a projects header were skipped: 填报说明" in out


def test_rejected_file_exits_1_with_reason(capsys):
    code, out = check(capsys, FIXTURES / "files" / "projects_missing_columns.csv")
    assert code == 1
    assert out.startswith("REJECTED projects_missing_columns.csv: required column(s) "
                          "missing: district, start_date")


def test_a_rejected_file_does_not_call_an_amount_column_amount_free(capsys, tmp_path):
    """Rejected for a missing column before the amount check ran: its unread 万元 column is 'not read', not
    'ignored (no amounts in them)'."""
    path = tmp_path / "pd.csv"
    path.write_text("项目编号,项目名称,所属区,财政资助（万元）,立项日期\nP-1,甲,浦东新区,120.5,2025-03-01\n", encoding="utf-8")
    code, out = check(capsys, path)
    assert code == 1 and out.startswith("REJECTED pd.csv: required column(s) missing")
    assert "  columns not read (nothing was loaded): 财政资助(万元)" in out
    assert "no amounts in them" not in out


def test_json_output(capsys):
    code, out = check(capsys, FIXTURES / "files" / "projects_utf8.csv", "--json")
    assert code == 0
    r = json.loads(out)
    assert (r["accepted"], r["rows_received"], r["rows_accepted"], r["rows_quarantined"]) == (True, 5, 4, 1)
    assert (r["format"], r["encoding"], r["rejected"], r["rule"]) == ("csv", "utf-8", None, None)
    [p] = r["problems"]
    assert (p["row"], p["column"], p["value"], p["rule"], p["severity"]) == (6, "district", "Atlantis", "code_list", "critical")
    assert "row_data" not in p


@pytest.mark.parametrize("name, rule", [
    ("hostile/zip_bomb.xlsx", "zip_bomb"), ("hostile/empty.csv", "empty"), ("hostile/image.png", "binary"),
    ("hostile/billion_laughs_sheet.xlsx", "unsafe_xml"), ("files/projects_mixed_utf8_then_gbk.csv", "encoding"),
    ("files/projects_no_unit.csv", "bad_columns"), ("hostile/header_only.csv", "no_valid_rows"),
])
def test_json_output_of_rejected_files(capsys, name, rule):
    code, out = check(capsys, FIXTURES / name, "--json")
    r = json.loads(out)
    assert (code, r["accepted"], r["rule"]) == (1, False, rule)
    assert Path(name).name in r["rejected"]


def test_submission_rules_are_checked_first(capsys):
    code, out = check(capsys, FIXTURES / "files" / "projects_utf8.csv", kind="ip_transactions")
    assert code == 1 and out.startswith("REJECTED projects_utf8.csv: submitter PD may not send 'ip_transactions'")
    code, out = check(capsys, FIXTURES / "files" / "projects_utf8.csv", "--json", period="2018Q5")
    assert code == 1 and json.loads(out)["rule"] == "submission_rule"


def test_missing_file_exits_2(capsys, tmp_path):
    code = main(["check", str(tmp_path / "nope.csv"), "--submitter", "PD", "--kind", "projects", "--period", "2018"])
    assert code == 2 and "is not a file" in capsys.readouterr().err


PROJECTS_HEADER = "project_code,title,level,field,lead_institution,district,start_date,status,funding_central_yuan"


def test_an_amount_that_cannot_be_held_quarantines_its_row_not_the_check(capsys, tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text(f"{PROJECTS_HEADER}\nP-1,Good,municipal,energy,Fudan,PD,2018-01-01,underway,100\n"
                    "P-2,Huge,municipal,energy,Fudan,PD,2018-01-01,underway,1e1000000\n"
                    "P-3,Old,municipal,energy,Fudan,PD,1800-01-01,underway,5\n", encoding="utf-8")
    code, out = check(capsys, path, "--json")
    r = json.loads(out)
    assert (code, r["accepted"], r["rows_accepted"], r["rows_quarantined"]) == (0, True, 1, 2)
    assert [(p["row"], p["column"], p["value"], p["rule"]) for p in r["problems"]] == [
        (3, "funding_central_yuan", "1e1000000", "number_parse"), (4, "start_date", "1800-01-01", "date_range")]


def test_a_district_file_with_another_districts_row(capsys, tmp_path):
    path = tmp_path / "pd.csv"
    path.write_text(f"{PROJECTS_HEADER},joint_with\nP-1,Ours,municipal,energy,Fudan,浦东,2018-01-01,underway,1,\n"
                    "P-2,Theirs,municipal,energy,Fudan,黄浦,2018-01-01,underway,1,\n"
                    "P-3,Joint,municipal,energy,Fudan,黄浦,2018-01-01,underway,1,浦东\n", encoding="utf-8")
    code, out = check(capsys, path, submitter="PD")
    assert code == 0 and "2 rows would be accepted, 1 quarantined" in out
    assert "  row 3, column district: 区只报送本区的数据行" in out
    assert " · the row is booked to district HP, but PD may report only" in out
    assert out.rstrip().splitlines()[1].endswith("[district_mismatch]")
    code, out = check(capsys, path, submitter="STCSM")  # an agency may report any district
    assert code == 0 and "3 rows would be accepted, 0 quarantined" in out


def test_a_rejection_says_why_and_what_to_fix_in_chinese_and_english(capsys):
    code, out = check(capsys, FIXTURES / "pipeline" / "projects_missing_column.csv")
    lines = out.splitlines()
    assert code == 1 and lines[0].startswith("REJECTED projects_missing_column.csv: required column(s) missing: district")
    assert lines[1] == "  缺少必需的列。 [missing_columns]"
    assert lines[2].startswith("  what to fix / 如何修改: 请使用模板的列标题") and "/ Use the column headers of the template" in lines[2]
