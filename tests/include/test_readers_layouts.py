"""The layouts and formats offices send (issue 11): multi-level headers flattened parent-child, total and
signature rows skipped (and recorded), XLS and ODS read through calamine, an encrypted workbook refused.

The files are the h2c* cases of tests/fixtures/intake_corpus (written by its _make/make_h2_layouts.py);
test_intake_corpus.py takes them through the pipeline, this module checks what the readers make of them.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from stic.contract.kinds import KINDS
from stic.intake import readers
from stic.intake.readers import FileRejected, layout_row_reason, open_table
from stic.load import ParseOutcome, check_file, parse_rows

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "intake_corpus"
FUNDING = ["funding_central_yuan", "funding_municipal_yuan", "funding_district_yuan", "funding_self_raised_yuan"]


def case_file(case_id: str) -> Path:
    d = CORPUS / case_id
    return next(p for p in d.iterdir() if p.name != "case.yml")


def table(case_id: str, kind: str = "projects"):
    t = open_table(case_file(case_id), KINDS[kind])
    rows = list(t.rows)
    return t, rows


def loaded(path: Path, kind: str, submitter: str | None = None) -> tuple[dict, ParseOutcome]:
    o = ParseOutcome()
    k = KINDS[kind]
    kwargs = {"submitter": submitter} if submitter else {}
    got = {v[k.key]: v for _n, _s, v, _w in parse_rows(path, k, o, **kwargs)}
    return got, o


@pytest.fixture(params=["calamine", "openpyxl"])
def xlsx_path(request, monkeypatch):
    """Both XLSX readers: calamine for workbooks up to CALAMINE_MAX_XLSX_BYTES, the openpyxl stream above."""
    monkeypatch.setattr(readers, "CALAMINE_MAX_XLSX_BYTES", 10**12 if request.param == "calamine" else 0)
    return request.param


# ------------------------------------------------------------------------------------ headers, flattened


def test_two_level_merged_xlsx_header_is_flattened_parent_first(xlsx_path):
    t, rows = table("h2c01-pd-xlsx2")
    assert t.headers[:8] == ["项目编号", "项目名称", "项目级别", "技术领域", "承担单位", "所在区", "立项日期", "项目状态"]
    assert t.headers[8:] == ["资金来源（万元）-中央财政", "资金来源（万元）-市级财政", "资金来源（万元）-区级配套", "资金来源（万元）-自筹"]
    assert t.header_row == 3  # the title on row 1, the header on rows 2-3: data starts on row 4
    assert [n for n, _s, _c in rows] == [4, 5]
    assert any("a header of 2 rows (2–3)" in n for n in t.notes)


def test_three_level_header_keeps_every_level_and_a_column_merged_down_from_the_middle(xlsx_path):
    t, _rows = table("h2c02-xh-xlsx3")
    assert t.headers[9:] == ["项目经费（万元）-财政资金-中央", "项目经费（万元）-财政资金-市级", "项目经费（万元）-财政资金-区级",
                             "项目经费（万元）-自筹资金"]
    assert t.headers[0] == "序号" and t.header_row == 4


@pytest.mark.parametrize("case_id, kind, last", [
    ("h2c03-mh-csv2row", "projects", ["资金来源（万元）-中央财政", "资金来源（万元）-市级财政", "资金来源（万元）-区级配套", "资金来源（万元）-自筹"]),
    ("h2c08-yp-utf16", "projects", ["资金来源（万元）-中央财政", "资金来源（万元）-市级财政", "资金来源（万元）-区级配套", "资金来源（万元）-自筹"]),
    ("h2c11-cn-platform-csv3", "platform_assessments",
     ["考核指标-人才培养-目标", "考核指标-人才培养-实际", "考核指标-产学研合作-目标", "考核指标-产学研合作-实际",
      "资金（万元）-市级专项资金", "资金（万元）-区配套资金"]),
    ("h2c06-pd-xls", "facilities", ["投资情况（万元）-总投资", "投资情况（万元）-仪器原值"]),
    ("h2c07-sj-ods", "projects", ["资金来源（万元）-中央财政", "资金来源（万元）-市级财政", "资金来源（万元）-区级配套", "资金来源（万元）-自筹"]),
])
def test_multi_level_headers_of_csv_text_xls_and_ods(case_id, kind, last):
    t, _rows = table(case_id, kind)
    assert [h for h in t.headers if h][-len(last):] == last


def test_a_title_line_or_unit_line_is_never_taken_for_a_parent_level():
    t, rows = table("h2c04-jd-csv1row")
    assert t.headers[0] == "项目编号" and t.headers[8] == "资金来源-中央财政(万元)"  # the unit line's 万元 applied
    assert t.header_row == 3 and rows[0][0] == 4


def test_a_data_row_right_under_a_one_row_header_is_never_a_header_level(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("项目编号,项目名称,资金（万元）,\nP1,一,12,备注\n", encoding="utf-8")
    t = open_table(p, KINDS["projects"])
    assert t.headers == ["项目编号", "项目名称", "资金（万元）", ""] and t.header_row == 1
    assert [c for _n, _s, c in t.rows] == [["P1", "一", "12", "备注"]]


# ------------------------------------------------------------------------------- totals and signatures


def test_total_and_signature_rows_are_skipped_and_recorded(xlsx_path):
    t, rows = table("h2c01-pd-xlsx2")
    assert len(rows) == 2
    assert [(s["row"], s["sheet"], s["reason"]) for s in t.skipped] == [(6, "Sheet1", "total_row"), (7, "Sheet1", "notes_line")]
    assert t.skipped[0]["text"] == "合计 | 120 | 62.5 | 30 | 11.75"
    assert "填表人：王敏" in t.skipped[1]["text"] and "联系电话" in t.skipped[1]["text"]


def test_the_loaded_rows_add_up_to_the_offices_own_total_row():
    """No amount vanishes between the header and the 合计 row: the rows loaded sum to it, to the fen."""
    got, o = loaded(case_file("h2c01-pd-xlsx2"), "projects")
    assert o.rows_loaded == 2 and o.rows_quarantined == 0
    totals = [Decimal(x) * 10_000 for x in o.skipped_rows[0]["text"].split(" | ")[1:]]
    assert [sum(v[c] for v in got.values()) for c in FUNDING] == totals


def test_subtotal_rows_between_groups_and_a_grand_total_are_all_skipped(xlsx_path):
    _t, rows = table("h2c02-xh-xlsx3")
    got, o = loaded(case_file("h2c02-xh-xlsx3"), "projects")
    assert len(rows) == 3 and len(got) == 3
    assert [s["reason"] for s in o.skipped_rows] == ["total_row"] * 3
    assert sorted(s["text"].split(" | ")[0] for s in o.skipped_rows) == ["小计", "小计", "总计"]


def test_a_project_titled_with_heji_is_data(xlsx_path):
    got, o = loaded(case_file("h2c16-fx-title-heji"), "projects")
    assert "H2C16-FX-TITLE-HEJI-1" in got and got["H2C16-FX-TITLE-HEJI-1"]["title"] == "合计量检测仪器国产化"
    assert [s["reason"] for s in o.skipped_rows] == ["total_row"]


@pytest.mark.parametrize("cells, key_index, reason", [
    (["合计", None, 1, 2], 0, "total_row"),
    (["合  计", "", "3"], 0, "total_row"),
    (["\u3000总\u3000计\u3000", None], 0, "total_row"),
    ([None, "小计", None, 5], 0, "total_row"),
    (["合计（共2项）", None, 5], 0, "total_row"),
    (["全区合计：", None, 5], 0, "total_row"),
    (["Grand total", None, 5], 0, "total_row"),
    (["Subtotal", None, 5], 0, "total_row"),
    (["TOTAL", None, 5], 0, "total_row"),
    (["合计", "-", 5], 1, "total_row"),  # a placeholder in the key column
    (["填表人：王敏", None, "联系电话：123"], 0, "notes_line"),
    (["填报日期: 2020-04-03"], 0, "notes_line"),
    (["注：金额单位为万元"], 0, "notes_line"),
    (["说明：区级含镇级"], 0, "notes_line"),
    (["Note: amounts in 10k yuan"], 0, "notes_line"),
    (["审核人 ：李强"], 0, "notes_line"),
    # data, never skipped
    (["P001", "合计", 5], 0, None),  # a key: the row is data whatever its title says
    (["P001", "合计量检测仪器", 5], 0, None),
    ([None, "合计量检测仪器", 5], 0, None),  # no key, but not a total word: quarantined as missing, not hidden
    ([1, "合计", 5], 1, None),  # 序号 1 first: a numbered row is data
    (["负责人培训项目", None], 0, None),  # a signature word without its colon
    (["注射剂一致性评价", None], 0, None),
    (["Totalization study", None], 0, None),
    ([None, None], 0, None),
])
def test_layout_row_reason(cells, key_index, reason):
    assert layout_row_reason(cells, key_index) == reason


def test_skipped_rows_reach_the_outcome_and_its_intake_details():
    o = check_file(case_file("h2c09-qp-gb18030"), "facilities")
    assert o.rejected is None and o.rows_loaded == 2
    assert [s["reason"] for s in o.skipped_rows] == ["total_row", "total_row", "notes_line"]
    details = o.intake_details()
    assert details["skipped_rows_total"] == 3 and details["skipped_rows"][2]["row"] == 8


# ----------------------------------------------------------------------------------------- formats


def test_xls_is_read_with_exact_amounts_and_no_float_artefacts():
    got, o = loaded(case_file("h2c06-pd-xls"), "facilities")
    assert o.format == "xls" and o.rows_quarantined == 0
    assert got["H2C06-PD-XLS-1"]["total_investment_yuan"] == Decimal("123456700.00")  # 12345.67 万元
    assert got["H2C06-PD-XLS-1"]["original_value_yuan"] == Decimal("3000.00")  # 0.1 + 0.2 万元 stored as a float


def test_xls_float_is_read_as_excel_shows_it():
    from stic.intake.readers.calamine import _cell

    assert _cell(0.1 + 0.2) == 0.3 and repr(_cell(12345.67)) == "12345.67" and _cell("") is None
    assert _cell(1234567.8900000001) == 1234567.89 and _cell(7.0) == 7.0


def test_xls_dates_come_as_dates():
    _t, rows = table("h2c13-shipa-ip-xls", "ip_transactions")
    import datetime as dt

    assert rows[0][2][1] == dt.date(2021, 10, 8)


@pytest.mark.parametrize("case_id, kind, key, district", [
    ("h2c06-pd-xls", "facilities", "H2C06-PD-XLS-2", "PD"),  # XLS: calamine's merged ranges
    ("h2c07-sj-ods", "projects", "H2C07-SJ-ODS-2", "SJ"),  # ODS: spans read from content.xml
])
def test_a_cell_merged_down_over_data_rows_fills_each_row(case_id, kind, key, district):
    got, o = loaded(case_file(case_id), kind)
    assert o.rows_quarantined == 0 and got[key]["district"] == district


def test_ods_merged_ranges_count_repeated_rows_and_cells():
    from stic.intake.readers.calamine import ods_merged_ranges

    ranges = ods_merged_ranges(case_file("h2c07-sj-ods"), 100)["Sheet1"]
    assert (9, 1, 12, 1) in ranges  # 资金来源（万元） over I1:L1
    assert (1, 1, 1, 2) in ranges  # 项目编号 merged down over the two header rows
    assert (6, 3, 6, 4) in ranges  # 所在区 merged down over two data rows
    assert (1, 5, 8, 5) in ranges  # 合计 across A5:H5


def test_ods_is_detected_by_content_whatever_its_name(tmp_path):
    p = tmp_path / "named.xlsx"
    shutil.copy(case_file("h2c07-sj-ods"), p)
    o = check_file(p, "projects")
    assert o.format == "ods" and o.rows_loaded == 2 and "named .xlsx but its content is ODS" in o.notes[0]


def test_ods_with_a_unit_column():
    got, o = loaded(case_file("h2c14-hk-ods-unitcol"), "facilities")
    assert got["H2C14-HK-ODS-UNITCOL-1"]["total_investment_yuan"] == Decimal("125000000.00")
    assert got["H2C14-HK-ODS-UNITCOL-2"]["original_value_yuan"] == Decimal("3564000.00")


def test_encrypted_workbook_is_refused_with_what_to_do():
    with pytest.raises(FileRejected) as e:
        open_table(case_file("h2c18-ja-encrypted"), KINDS["projects"])
    assert e.value.reason == "encrypted"
    assert "静安区项目2021Q2.xlsx" in str(e.value) and "password" in str(e.value) and "remove" in str(e.value)


def test_a_broken_xls_is_unreadable_with_what_to_do(tmp_path):
    p = tmp_path / "old.xls"
    p.write_bytes(readers.OLE2_MAGIC + b"\x00" * 504)
    with pytest.raises(FileRejected) as e:
        open_table(p, KINDS["projects"])
    assert e.value.reason == "unreadable" and "old.xls" in str(e.value) and ".xls" in str(e.value)
    assert "CSV UTF-8" in str(e.value)


def test_a_zip_that_is_neither_xlsx_nor_ods_is_unreadable(tmp_path):
    import zipfile

    p = tmp_path / "x.ods"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        z.writestr("content.xml", "<x/>")
    with pytest.raises(FileRejected) as e:
        open_table(p, KINDS["projects"])
    assert e.value.reason == "unreadable" and "nor an ODS spreadsheet" in str(e.value)


def test_an_ods_declaring_entities_is_refused_as_unsafe(tmp_path):
    import zipfile

    p = tmp_path / "laughs.ods"
    with zipfile.ZipFile(case_file("h2c07-sj-ods")) as src, zipfile.ZipFile(p, "w") as z:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "content.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>', 1)
            z.writestr(info, data)
    with pytest.raises(FileRejected) as e:
        open_table(p, KINDS["projects"])
    assert e.value.reason == "unsafe_xml" and "laughs.ods" in str(e.value)


def test_large_xlsx_goes_through_the_streaming_reader(monkeypatch, tmp_path):
    """Above the threshold the openpyxl stream reads the workbook (calamine would hold it whole in memory)."""
    calls = []
    monkeypatch.setattr(readers, "_open_calamine", lambda *a: calls.append(a) or pytest.fail("calamine used"))
    monkeypatch.setattr(readers, "CALAMINE_MAX_XLSX_BYTES", 1000)
    t, rows = table("h2c01-pd-xlsx2")
    assert len(rows) == 2 and not calls


# ------------------------------------------------------------------- a number never vanishes silently


@pytest.mark.parametrize("case_id, kind, key, column, yuan", [
    ("h2c01-pd-xlsx2", "projects", "H2C01-PD-XLSX2-2", "funding_self_raised_yuan", "82500.00"),  # merged header
    ("h2c04-jd-csv1row", "projects", "H2C04-JD-CSV1ROW-2", "funding_self_raised_yuan", "100.00"),  # unit line
    ("h2c15-sheitc-utf16-unitline", "projects", "H2C15-SHEITC-UTF16-UNITLINE-2", "funding_municipal_yuan", "12345600.00"),
    ("h2c05-bs-unitcol", "projects", "H2C05-BS-UNITCOL-2", "funding_self_raised_yuan", "123456700.00"),  # unit column
    ("h2c05-bs-unitcol", "projects", "H2C05-BS-UNITCOL-1", "funding_self_raised_yuan", "1234567.89"),
    ("h2c09-qp-gb18030", "facilities", "H2C09-QP-GB18030-1", "total_investment_yuan", "32005000.00"),  # 单位 + 小计
])
def test_each_layout_loads_the_exact_amount(case_id, kind, key, column, yuan):
    got, o = loaded(case_file(case_id), kind)
    assert o.rows_quarantined == 0 and str(got[key][column]) == yuan


def test_a_merged_header_with_no_unit_anywhere_rejects_the_file():
    o = check_file(case_file("h2c17-pt-no-unit"), "projects")
    assert o.rejected_rule == "bad_columns" and "普陀区项目2020Q1.xlsx" in o.rejected and "unit" in o.rejected


# ------------------------------------------------------------------------------ later sheets' own columns


def _two_sheets(path: Path, second_extra: str, second_value) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "浦东一"
    first.append(["项目编号", "项目名称", "项目级别", "技术领域", "承担单位", "所在区", "立项日期", "项目状态", "自筹资金（万元）"])
    first.append(["LS-1", "张江项目", "市级", "能源", "复旦大学", "浦东", "2018-01-01", "在研", 3])
    second = wb.create_sheet("浦东二")
    # the second sheet's columns in another order, as a colleague laid them out: its cells are moved by name
    second.append(["项目名称", "项目编号", "项目级别", "技术领域", "承担单位", "所在区", "立项日期", "项目状态",
                   second_extra, "自筹资金（万元）"])
    second.append(["临港项目", "LS-2", "区级", "海洋", "海洋大学", "浦东", "2018-02-01", "在研", second_value, 4])
    wb.save(path)
    return path


def test_a_column_only_a_later_sheet_has_is_read_not_dropped(tmp_path, xlsx_path):
    """The second sheet's 中央财政资助（万元） has no column in the first sheet: its amounts still arrive."""
    got, o = loaded(_two_sheets(tmp_path / "two.xlsx", "中央财政资助（万元）", 12.5), "projects")
    assert got["LS-2"]["funding_central_yuan"] == Decimal("125000.00")
    assert got["LS-1"]["funding_central_yuan"] is None
    assert (got["LS-1"]["funding_self_raised_yuan"], got["LS-2"]["funding_self_raised_yuan"]) == (
        Decimal("30000.00"), Decimal("40000.00"))
    assert any("only later sheets have" in n for n in o.notes)


def test_an_unmapped_amount_column_of_a_later_sheet_rejects_the_file(tmp_path, xlsx_path):
    o = check_file(_two_sheets(tmp_path / "two.xlsx", "上级拨款（万元）", 7), "projects")
    assert o.rejected_rule == "unmapped_amount" and "上级拨款" in o.rejected and "浦东二" in o.rejected
