"""The XLSX stream's expat rows (stic.intake.readers.xlsx.sheet_rows) equal openpyxl's read-only
`iter_rows(values_only=True)`, which they replace: on every workbook fixture openpyxl can read, and on
sheets written by hand with what Excel and other tools put in them (gaps, rows out of order, cells without
coordinates, inline and rich strings, dates by style and ISO, booleans, errors, formulas' cached values)."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest

from stic.contract.kinds import KINDS
from stic.intake.readers import FileRejected, open_table
from stic.intake.readers import xlsx as stream

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def openpyxl_rows(path: Path) -> dict[str, list]:
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        out = {}
        for ws in wb.worksheets:
            ws.reset_dimensions()
            out[ws.title] = [tuple(r) for r in ws.iter_rows(values_only=True)]
        return out
    finally:
        wb.close()


def stream_rows(path: Path, min_row: int = 1) -> dict[str, list]:
    with path.open("rb") as f, stream._no_dimension_scan():
        wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
        try:
            out = {}
            for ws in wb.worksheets:
                sheet = stream._OpenpyxlSheet(path, ws)
                out[ws.title] = [tuple(cells) for _, cells in sheet.rows(min_row)]
            return out
        finally:
            wb.close()


def readable_fixtures() -> list[Path]:
    out = []
    for p in sorted(FIXTURES.rglob("*.xlsx")):
        try:
            openpyxl_rows(p)
        except Exception:  # broken, encrypted and hostile files: the readers' own tests cover them
            continue
        out.append(p)
    return out


@pytest.mark.parametrize("path", readable_fixtures(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_fixture_rows_equal_openpyxl(path):
    assert stream_rows(path) == openpyxl_rows(path)


SHEET = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"
 xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<dimension ref="A1:XFD1048576"/>
<sheetData>
<row r="1" spans="1:6"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>金额（万元）</t></is></c></row>
<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" s="1"><v>43831</v></c><c r="C2"><v>12.5</v></c><c r="E2" t="b"><v>1</v></c></row>
<row r="4"><c r="A4" t="inlineStr"><is><r><t>富</t></r><r><rPr><b/></rPr><t>文本</t></r><rPh sb="0" eb="1"><t>フリ</t></rPh></is></c><c r="B4" t="d"><v>2020-03-01T00:00:00</v></c><c r="C4"><f>1+1</f><v>2</v></c><c r="D4" t="e"><v>#N/A</v></c></row>
<row r="3"><c r="A3"><v>99</v></c></row>
<row r="5"/>
<row><c><v>1E3</v></c><c/><c t="str"><v>公式文本</v></c><c t="inlineStr"></c><c t="inlineStr"><is><t/></is></c></row>
<row r="9"><c r="A9"><v>7</v></c><c r="C9" t="inlineStr"><is><t xml:space="preserve">  a &amp; b &lt;c&gt;  </t></is></c></row>
<row r="10"><c r="B10" s="1"><v>2958466</v></c><c r="C10" s="2"><v>0.5</v></c><c r="D10"><v></v></c></row>
<row r="11"><c r="C11"><v>3</v></c><c r="A11"><v>4</v></c></row>
</sheetData>
</worksheet>"""

STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="1"><numFmt numFmtId="164" formatCode="[h]:mm:ss"/></numFmts>
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="1"><fill><patternFill patternType="none"/></fill></fills>
<borders count="1"><border/></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
</styleSheet>"""

STRINGS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3" uniqueCount="3">
<si><t>项目编号</t></si><si><t>立项日期</t></si><si><r><t>P-</t></r><r><t>001</t></r></si></sst>"""


def hand_written(tmp_path: Path, sheet: str = SHEET) -> Path:
    """A workbook openpyxl writes, its styles, shared strings and sheet XML then replaced by the ones above."""
    seed = tmp_path / "seed.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "项目"
    wb.active["A1"] = "x"
    wb.save(seed)
    path = tmp_path / "hand.xlsx"
    with zipfile.ZipFile(seed) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet.encode("utf-8")
            elif info.filename == "xl/styles.xml":
                data = STYLES.encode("utf-8")
            elif info.filename == "[Content_Types].xml" and b"sharedStrings" not in data:
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType='
                                    b'"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"'
                                    b"/></Types>")
            elif info.filename == "xl/_rels/workbook.xml.rels" and b"sharedStrings" not in data:
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats'
                                    b'.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"'
                                    b"/></Relationships>")
            dst.writestr(info.filename, data)
        dst.writestr("xl/sharedStrings.xml", STRINGS.encode("utf-8"))
    seed.unlink()
    return path


def test_hand_written_sheet_equals_openpyxl(tmp_path):
    path = hand_written(tmp_path)
    ours, theirs = stream_rows(path), openpyxl_rows(path)
    assert ours == theirs
    rows = ours["项目"]
    # What the comparison covers, so that it cannot pass on two empty reads:
    assert rows[0] == ("项目编号", "立项日期", "金额（万元）")
    assert rows[1] == ("P-001", dt.datetime(2020, 1, 1), 12.5, None, True)
    assert rows[2] == ()  # row 3 comes after row 4 in the XML: skipped, as openpyxl does
    assert rows[3] == ("富文本", dt.datetime(2020, 3, 1), 2, "#N/A")
    assert rows[5][:5] == (1000.0, None, "公式文本", None, "")
    assert rows[8] == (7, None, "  a & b <c>  ")
    assert rows[9][1:3] == ("#VALUE!", dt.timedelta(hours=12))
    assert rows[10] == (4,)  # a row is as wide as its last cell in the XML, as openpyxl reads it


def test_rows_from_a_later_row(tmp_path):
    path = hand_written(tmp_path)
    assert stream_rows(path, min_row=4)["项目"] == openpyxl_rows(path)["项目"][3:]


def test_entity_declarations_are_refused(tmp_path):
    sheet = SHEET.replace('<worksheet ', '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]>\n<worksheet ', 1)
    sheet = sheet.replace("<v>99</v>", "<v>&a;</v>")
    path = hand_written(tmp_path, sheet)
    with pytest.raises(FileRejected) as e:
        list(open_table(path, KINDS["projects"]).rows)  # a DTD sends it to the stream
    assert e.value.reason == "unsafe_xml"
