"""District file intake: every quirk of tests/fixtures/files and tests/fixtures/hostile, with its exact outcome.

No database: `open_table` and `stic.load.check_file` only read and normalise. The fixtures are written by
tests/fixtures/files/make_fixtures.py (kept with them); the expected outcomes of the hostile ones are
also listed in tests/fixtures/hostile/README.md.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import pytest

from stic.contract.kinds import PROJECTS
from stic.intake.normalise import map_headers, normalise_row
from stic.intake.readers import FileRejected, open_table
from stic.load import check_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FILES = FIXTURES / "files"
HOSTILE = FIXTURES / "hostile"
D = Decimal


def read(path: Path) -> tuple[object, list[tuple[int, str | None, dict, list]]]:
    """(table, [(row number, sheet, values, problems)]) of a projects file."""
    table = open_table(path, PROJECTS)
    hm = map_headers(PROJECTS, table.headers)
    assert hm.ok, hm.problems + hm.missing
    out = []
    for n, sheet, cells in table.rows:
        values, problems, _ = normalise_row(PROJECTS, hm, cells)
        out.append((n, sheet, values, [(p.column, p.rule, p.message) for p in problems]))
    return table, out


def by_code(rows) -> dict[str, dict]:
    return {v["project_code"]: v for _, _, v, _ in rows}


def rejected(path: Path) -> FileRejected:
    with pytest.raises(FileRejected) as e:
        t = open_table(path, PROJECTS)
        list(t.rows)
    return e.value


# ------------------------------------------------------------------------------------------- encodings


def test_utf8_english_headers_unit_column_and_district_spellings():
    table, rows = read(FILES / "projects_utf8.csv")
    assert (table.format, table.encoding, table.header_row) == ("csv", "utf-8", 1)
    v = by_code(rows)
    assert [r[0] for r in rows] == [2, 3, 4, 5, 6]  # the line numbers a submitter sees
    # PD, Pudong, pudong new district, " Pudong  New Area " all resolve to PD
    assert [v[c]["district"] for c in ("P-001", "P-002", "P-003", "P-004")] == ["PD"] * 4
    assert v["P-001"]["funding_central_yuan"] == D("1234567.89")  # "1,234,567.89" with unit 元
    assert v["P-002"]["funding_central_yuan"] == D("1230000.00")  # full-width １２３ 万元
    assert v["P-002"]["funding_municipal_yuan"] == D("45000.00")  # 4.5 万元
    assert v["P-003"]["funding_central_yuan"] == D("1250000000.00")  # 12.5 亿元
    assert v["P-004"]["funding_municipal_yuan"] == D("2000000.00")
    assert all(isinstance(x["funding_central_yuan"], Decimal) for x in v.values() if x["funding_central_yuan"])
    assert v["P-002"]["field"] == "artificial_intelligence" and v["P-002"]["status"] == "underway"
    assert v["P-003"]["start_date"] == dt.date(2018, 6, 30)  # 2018年6月30日
    assert v["P-004"]["start_date"] == dt.date(2018, 7, 1)  # 20180701
    assert v["P-001"]["end_date"] == dt.date(2020, 12, 31)
    # the unknown district is an error naming the value; the row is quarantined, the others are fine
    assert [r[0] for r in rows if r[3]] == [6]
    [(column, rule, message)] = rows[4][3]
    assert (column, rule) == ("district", "code_list")
    assert message.startswith("'Atlantis' is not a known district")


def test_utf8_bom_chinese_headers_with_units_in_the_header():
    table, rows = read(FILES / "projects_utf8_bom.csv")
    assert table.encoding == "utf-8-sig"
    assert table.headers[0] == "项目编号"  # no BOM left in the first header
    v = by_code(rows)
    assert not any(r[3] for r in rows)
    assert v["ZJ-01"]["title"] == "张江脑科学平台"
    assert v["ZJ-01"]["funding_central_yuan"] == D("10000000.00")  # "1,000" 万元
    assert v["ZJ-01"]["funding_municipal_yuan"] == D("50000.00")  # ５００００ 元
    assert v["ZJ-01"]["funding_self_raised_yuan"] == D("50000000.00")  # 0.5 亿元
    assert v["ZJ-02"]["funding_central_yuan"] == D("25000.00")
    assert v["ZJ-02"]["funding_municipal_yuan"] == D("12345.60")
    assert v["ZJ-02"]["funding_self_raised_yuan"] is None
    assert (v["ZJ-01"]["level"], v["ZJ-02"]["level"], v["ZJ-02"]["status"]) == ("municipal_major", "national_major", "completed")
    assert v["ZJ-01"]["district"] == v["ZJ-02"]["district"] == "PD"  # 浦东新区, 浦东


def test_gbk_with_title_row_and_unit_line_above_the_header():
    table, rows = read(FILES / "projects_gbk.csv")
    assert (table.encoding, table.header_row) == ("gb18030", 3)
    v = by_code(rows)
    assert [r[0] for r in rows] == [4, 5]
    assert v["GB-01"]["title"] == "浦东新区人工智能创新中心"
    assert v["GB-01"]["lead_institution"] == "上海人工智能实验室"
    assert v["GB-02"]["lead_institution"] == "中国科学院上海药物研究所"
    # "单位：万元" under the title is the unit of the amount columns that state none
    assert v["GB-01"]["funding_central_yuan"] == D("1205000.00")
    assert v["GB-01"]["funding_district_yuan"] == D("300000.00")
    assert v["GB-02"]["funding_central_yuan"] == D("10000000.00")
    assert any("万元" in n and "中央财政资金" in n for n in table.notes)


def test_gb18030_four_byte_characters_survive():
    table, rows = read(FILES / "projects_gb18030.csv")
    assert table.encoding == "gb18030"
    assert rows[0][2]["title"] == "𠮷祥量子传感"
    assert rows[0][2]["lead_institution"] == "上海𠮷祥科技有限公司"
    assert rows[0][2]["field"] == "quantum_information"


@pytest.mark.parametrize("name", ["projects_mixed_utf8_then_gbk.csv", "projects_mixed_gbk_then_utf8.csv"])
def test_a_file_mixing_encodings_is_rejected_never_garbled(name):
    e = rejected(FILES / name)
    assert e.reason == "encoding"
    assert name in str(e) and "mixes encodings" in str(e)


def test_mixed_encoding_after_the_sniffed_sample_is_rejected_while_reading(tmp_path):
    header = "项目编号,项目名称,级别,领域,牵头单位,区,立项日期,状态\n"
    row = "M-{:06d},张江项目,市级,能源,复旦大学,浦东,2018-01-01,在研\n"
    for first, later in (("utf-8", "gbk"), ("gbk", "utf-8")):
        p = tmp_path / f"late_{first}.csv"
        body = "".join(row.format(i) for i in range(6000))  # > 256 KB before the odd line
        p.write_bytes((header + body).encode(first) + row.format(999999).encode(later))
        e = rejected(p)
        assert e.reason == "encoding" and p.name in str(e) and "line 6002" in str(e)


def test_utf16_text_with_bom_is_read_as_tab_separated(tmp_path):
    p = tmp_path / "unicode_text.txt"  # Excel "Unicode Text"
    p.write_text("项目编号\t项目名称\t级别\t领域\t牵头单位\t区\t立项日期\t状态\n"
                 "U-01\t张江\t市级\t能源\t复旦\t浦东\t2018-01-01\t在研\n", encoding="utf-16")
    table, rows = read(p)
    assert table.encoding == "utf-16" and rows[0][2]["title"] == "张江" and rows[0][2]["district"] == "PD"


def test_semicolon_separated_csv_is_detected_by_its_header(tmp_path):
    p = tmp_path / "semicolon.csv"
    p.write_text("项目编号;项目名称;级别;领域;牵头单位;区;立项日期;状态;中央财政资金（元）\n"
                 "SC-01;A, B and C;市级;能源;复旦;浦东;2018-01-01;在研;1000\n", encoding="utf-8")
    table, rows = read(p)
    assert rows[0][2]["title"] == "A, B and C" and rows[0][2]["funding_central_yuan"] == D("1000.00")


# ------------------------------------------------------------------------------------------------ XLSX


def test_xlsx_title_merged_cells_text_numbers_and_several_sheets():
    table, rows = read(FILES / "projects_multi_sheet.xlsx")
    assert (table.format, table.header_row) == ("xlsx", 2)  # below the merged title 2018年度项目汇总表
    assert [(n, s) for n, s, _, _ in rows] == [(3, "第一批"), (4, "第一批"), (5, "第一批"), (2, "第二批"), (3, "第二批")]
    assert not any(r[3] for r in rows)
    v = by_code(rows)
    # the merged district cell F3:F5 gives 浦东新区 to each row it covers
    assert [v[c]["district"] for c in ("X-01", "X-02", "X-03")] == ["PD", "PD", "PD"]
    assert v["X-01"]["funding_central_yuan"] == D("12005000.00")  # text "1,200.50" 万元
    assert v["X-01"]["funding_municipal_yuan"] == D("3000000.00")  # number 300 万元
    assert v["X-02"]["funding_municipal_yuan"] == D("880000.00")  # text "８８" 万元
    assert v["X-01"]["start_date"] == dt.date(2018, 1, 10)  # a real date cell
    assert v["X-03"]["start_date"] == dt.date(2018, 3, 5)  # text 2018/03/05
    # the second sheet has other column order and other units (元, 亿元): each keeps its own
    assert v["Y-01"]["funding_municipal_yuan"] == D("5000.00")
    assert v["Y-01"]["funding_central_yuan"] == D("10000000.00")
    assert v["Y-02"]["funding_central_yuan"] == D("25000000.00")
    assert v["Y-01"]["title"] == "临港智能网联" and v["Y-01"]["district"] == v["Y-02"]["district"] == "PD"
    assert "sheets without a projects header were skipped: 填报说明" in table.notes


def test_whole_sheet_dimension_and_merge_do_not_blow_up():
    t = time.monotonic()
    table, rows = read(HOSTILE / "whole_sheet_merge.xlsx")
    assert [r[2]["project_code"] for r in rows] == ["W-01", "W-02"]
    assert time.monotonic() - t < 5


def test_formula_looking_text_is_kept_as_text():
    _, rows = read(HOSTILE / "formulas.csv")
    v = by_code(rows)
    assert v["F-01"]["title"] == "=1+2"
    assert v["F-01"]["lead_institution"] == '=HYPERLINK("http://example.invalid","x")'
    assert v["F-02"]["title"] == "+SUM(A1:A9)" and v["F-02"]["lead_institution"] == "-2+3"
    assert v["F-03"]["title"] == "@SUM(1)" and v["F-03"]["lead_institution"] == "-cmd|' /C calc'!A0"
    _, rows = read(HOSTILE / "formulas.xlsx")
    v = by_code(rows)
    assert v["FX-01"]["title"] == "=1+2" and v["FX-01"]["lead_institution"] == "@SUM(1)"
    assert v["FX-01"]["funding_central_yuan"] == D("100000.00")
    assert v["FX-02"]["funding_central_yuan"] is None  # a formula without a computed value reads as empty


# ------------------------------------------------------------------------------------------------ JSON


def test_json_list_of_objects():
    table, rows = read(FILES / "projects_list.json")
    assert table.format == "json"
    v = by_code(rows)
    assert [r[0] for r in rows] == [1, 2]
    assert v["J-01"]["funding_central_yuan"] == D("1234567.89")  # a JSON number, exact
    assert v["J-01"]["funding_district_yuan"] == D("2000.00")
    assert v["J-01"]["district"] == v["J-02"]["district"] == "PD"
    assert v["J-02"]["funding_central_yuan"] is None and v["J-02"]["funding_district_yuan"] == D("0.00")


def test_json_records_object_with_chinese_keys():
    _, rows = read(FILES / "projects_records.json")
    (n, _, v, problems), = rows
    assert (n, problems) == (1, [])
    assert v["title"] == "张江细胞治疗" and v["district"] == "PD"  # " 浦东 新区 "
    assert v["funding_central_yuan"] == D("1234000.00")  # "１２３.４" 万元
    assert v["start_date"] == dt.date(2018, 3, 1)


# ------------------------------------------------------------------------------------ file rejections


def test_missing_required_columns_names_the_file_and_the_columns():
    o = check_file(FILES / "projects_missing_columns.csv", "projects")
    assert o.rejected_rule == "missing_columns"
    assert o.rejected.startswith("projects_missing_columns.csv: required column(s) missing: district, start_date")


def test_an_amount_without_unit_is_rejected_never_guessed():
    o = check_file(FILES / "projects_no_unit.csv", "projects")
    assert o.rejected_rule == "bad_columns"
    assert "projects_no_unit.csv" in o.rejected and "中央财政资金" in o.rejected
    assert "never guesses a unit" in o.rejected


def test_unreadable_path_is_rejected(tmp_path):
    e = rejected(tmp_path / "nowhere.csv")
    assert e.reason == "unreadable" and "nowhere.csv" in str(e)


def test_no_header_is_rejected_with_what_was_expected(tmp_path):
    p = tmp_path / "facilities_by_mistake.csv"
    p.write_text("foo,bar\n1,2\n", encoding="utf-8")
    e = rejected(p)
    assert e.reason == "no_header"
    assert "facilities_by_mistake.csv" in str(e) and "project_code" in str(e)


# -------------------------------------------------------------------------------------------- hostile

HOSTILE_OUTCOMES = {
    # file: (rejected rule or None, rows accepted, words in the reason)
    "empty.csv": ("empty", 0, ["empty.csv", "0 bytes"]),
    "image.png": ("binary", 0, ["image.png", "binary"]),
    "image_named.csv": ("binary", 0, ["image_named.csv", "binary"]),
    "nul_in_text.csv": ("binary", 0, ["nul_in_text.csv"]),
    "legacy.xls": ("unreadable", 0, ["legacy.xls", ".xls"]),
    "not_a_workbook.xlsx": ("unreadable", 0, ["not_a_workbook.xlsx", "not an XLSX"]),
    "truncated.xlsx": ("unreadable", 0, ["truncated.xlsx", "not a valid XLSX"]),
    "zip_bomb.xlsx": ("zip_bomb", 0, ["zip_bomb.xlsx", "zip bomb"]),
    "billion_laughs_sheet.xlsx": ("unsafe_xml", 0, ["billion_laughs_sheet.xlsx", "entities"]),
    "billion_laughs_strings.xlsx": ("unsafe_xml", 0, ["billion_laughs_strings.xlsx", "entities"]),
    "deep_nesting.json": ("unreadable", 0, ["deep_nesting.json", "not valid JSON"]),
    "duplicate_headers.csv": ("bad_columns", 0, ["duplicate_headers.csv", "'title' appears twice"]),
    "duplicate_keys.json": ("bad_columns", 0, ["duplicate_keys.json", "'title' twice"]),
    "header_only.csv": ("no_valid_rows", 0, ["header_only.csv", "no row passed"]),
    "csv_named.xlsx": (None, 1, []),
    "xlsx_named.csv": (None, 2, []),
    "whole_sheet_merge.xlsx": (None, 2, []),
    "sql_injection.csv": (None, 1, []),
    "formulas.csv": (None, 3, []),
    "formulas.xlsx": (None, 2, []),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_OUTCOMES))
def test_hostile_file_has_a_clear_outcome(name):
    rule, accepted, words = HOSTILE_OUTCOMES[name]
    o = check_file(HOSTILE / name, "projects")  # never raises: a reason, or rows
    assert (o.rejected_rule, o.rows_loaded) == (rule, accepted), o.rejected
    for w in words:
        assert w in o.rejected


def test_hostile_readme_lists_every_fixture():
    readme = (HOSTILE / "README.md").read_text(encoding="utf-8")
    for p in HOSTILE.iterdir():
        if p.name != "README.md":
            assert f"`{p.name}`" in readme, p.name
    from tests.include.test_hostile_e2e import READER_OUTCOMES_2

    assert set(HOSTILE_OUTCOMES) | set(READER_OUTCOMES_2) == {p.name for p in HOSTILE.iterdir() if p.name != "README.md"}


def test_wrong_extension_is_read_by_content():
    o = check_file(HOSTILE / "csv_named.xlsx", "projects")
    assert o.format == "csv" and "named .xlsx but its content is CSV" in o.notes[0]
    o = check_file(HOSTILE / "xlsx_named.csv", "projects")
    assert o.format == "xlsx" and "named .csv but its content is XLSX" in o.notes[0]


def test_sql_looking_header_is_ignored_and_values_are_just_text():
    table, rows = read(HOSTILE / "sql_injection.csv")
    hm = map_headers(PROJECTS, table.headers)
    assert hm.ignored == ['name"; drop table raw.projects; --']
    v = rows[0][2]
    assert v["title"] == "'; drop table x; --"
    assert v["lead_institution"] == 'Robert"); DROP TABLE students;--'


def test_ten_megabyte_single_line_is_rejected_quickly(tmp_path):
    p = tmp_path / "one_line.csv"
    with p.open("wb") as f:
        f.write("项目编号,项目名称,级别,领域,牵头单位,区,立项日期,状态,".encode())
        f.write(b"a," * (5 * 1024 * 1024))
    assert p.stat().st_size > 10 * 1024 * 1024
    t = time.monotonic()
    o = check_file(p, "projects")
    assert o.rejected_rule == "line_too_long" and "one_line.csv: line 1 is longer than" in o.rejected
    assert time.monotonic() - t < 5


def test_one_huge_quoted_field_is_rejected(tmp_path):
    p = tmp_path / "huge_field.csv"
    p.write_text("项目编号,项目名称,级别,领域,牵头单位,区,立项日期,状态\n"
                 'H-1,"' + "长\n" * 600_000 + '",市级,能源,复旦,浦东,2018-01-01,在研\n', encoding="utf-8")
    o = check_file(p, "projects")
    assert o.rejected_rule == "unreadable" and "huge_field.csv" in o.rejected and "field larger" in o.rejected


def test_rows_are_streamed_and_a_late_bad_byte_rejects_during_iteration(tmp_path):
    p = tmp_path / "late_binary.csv"
    header = "项目编号,项目名称,级别,领域,牵头单位,区,立项日期,状态\n"
    body = "".join(f"L-{i:06d},项目,市级,能源,复旦,浦东,2018-01-01,在研\n" for i in range(8000))
    p.write_bytes((header + body).encode() + b"L-x,\xff\xfe,x\n")
    table = open_table(p, PROJECTS)  # the header is fine: the table opens
    with pytest.raises(FileRejected) as e:
        list(table.rows)
    assert e.value.reason == "encoding" and "late_binary.csv: line 8002" in str(e.value)
