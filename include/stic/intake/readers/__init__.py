"""Read submitted files (CSV, XLSX, XLS, ODS, JSON) as rows of cells, or reject them with a reason.

A reader finds the header row (below any title rows; a header of two or three levels, such as
资金来源（万元） merged over 中央财政 | 市级财政, is flattened to one string per column, parent first:
资金来源（万元）-中央财政), skips total rows (合计, 小计, Total) and signature or notes lines (填表人：,
注：) into `Table.skipped`, detects the text encoding of CSV files
(UTF-8, UTF-8 with BOM, GB18030/GBK, UTF-16 with BOM), and yields `(row_number, sheet, cells)` for
each data row, where row_number is the line or spreadsheet row a submitter sees in their own tool.
The format is decided by the file's content, not its name (a CSV named .xlsx is read as CSV).
Anything that makes a file unreadable raises `FileRejected` with a reason naming the file — also
while the rows are being read: a reader never lets a traceback out for a bad file.

File reasons: empty, binary, unreadable, encrypted, encoding, line_too_long, too_large, zip_bomb, unsafe_xml,
cell_too_large, too_many_columns, no_header, bad_columns, missing_columns (the last two are also raised by
`stic.load`). The caps that keep memory bounded are the MAX_* constants of `table.py`, re-exported here
(docs/reliability.md).

The package, by concern: `table` (Table, FileRejected, the caps), `encoding` (charset detection), `text`
(CSV/TSV/UTF-16 text), `layout` (header rows, title and unit lines, total and notes rows), `zip_checks` (XLSX or
ODS, zip bombs, over-long XML texts), `workbook` (sheets of any workbook), `xlsx` (the openpyxl stream),
`calamine` and `json_stream`. `open_table`, which picks among them, lives here: tests patch
`_open_calamine` and `CALAMINE_MAX_XLSX_BYTES` on this module.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from stic.contract.kinds import Kind
from stic.intake.readers.calamine import CALAMINE_MAX_XLSX_BYTES, declares_dtd
from stic.intake.readers.encoding import detect_encoding
from stic.intake.readers.layout import layout_row_reason
from stic.intake.readers.table import (
    MAX_COLUMNS,
    MAX_FIELD_CHARS,
    MAX_JSON_BYTES,
    MAX_LINE_BYTES,
    MAX_MERGED_RANGES,
    MAX_XLSX_RATIO,
    MAX_XLSX_UNCOMPRESSED,
    MAX_XML_RUN_BYTES,
    FileRejected,
    Table,
)
from stic.intake.readers.text import _open_csv
from stic.intake.readers.workbook import _open_calamine
from stic.intake.readers.xlsx import _open_xlsx
from stic.intake.readers.zip_checks import _check_xml_cells, _check_zip

__all__ = [
    "CALAMINE_MAX_XLSX_BYTES",
    "MAX_COLUMNS",
    "MAX_FIELD_CHARS",
    "MAX_JSON_BYTES",
    "MAX_LINE_BYTES",
    "MAX_MERGED_RANGES",
    "MAX_XLSX_RATIO",
    "MAX_XLSX_UNCOMPRESSED",
    "MAX_XML_RUN_BYTES",
    "OLE2_MAGIC",
    "FileRejected",
    "Table",
    "_check_xml_cells",
    "_open_calamine",
    "detect_encoding",
    "detect_format",
    "layout_row_reason",
    "open_table",
]

SNIFF_BYTES = 256 * 1024
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def detect_format(path: Path, head: bytes) -> str:
    """xlsx (any zip: XLSX or ODS, told apart by _check_zip), json, csv, utf16 (text with a UTF-16 BOM),
    ole2 (Excel 97-2003 .xls, or a password-protected workbook) or binary — by content."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(OLE2_MAGIC):
        return "ole2"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf16"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"[", b"{"):
        return "json"
    if b"\x00" in head:
        return "binary"
    return "csv"


def open_table(path: Path, kind: Kind) -> Table:
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError as e:
        raise FileRejected("unreadable", f"{path.name}: cannot be read ({e.strerror or e})") from e
    if size == 0:
        raise FileRejected("empty", f"{path.name}: the file is empty (0 bytes)")
    fmt = detect_format(path, head)
    notes = []
    suffix = path.suffix.lower()
    if fmt == "binary":
        raise FileRejected("binary", f"{path.name}: the file is binary (not CSV, XLSX, XLS, ODS or JSON text)")
    if fmt == "xlsx":
        fmt = _check_zip(path)
    elif fmt == "ole2":
        fmt = "xls"
    expected = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods", ".json": "json", ".csv": "csv",
                ".txt": "csv", ".tsv": "csv"}
    got = "csv" if fmt == "utf16" else fmt
    if suffix in expected and expected[suffix] != got:
        notes.append(f"the file is named {suffix} but its content is {got.upper()}; it was read as {got.upper()}")
    if fmt == "ods" and declares_dtd(path):
        raise FileRejected(
            "unsafe_xml",
            f"{path.name}: the spreadsheet's XML declares entities or a DTD; refused as unsafe "
            "(possible entity-expansion attack) — save it again from LibreOffice or send CSV",
        )
    if fmt in ("xls", "ods") or (fmt == "xlsx" and size <= CALAMINE_MAX_XLSX_BYTES and not declares_dtd(path)):
        # A workbook with a DTD goes to openpyxl, whose defusedxml parser names the attack (unsafe_xml).
        table = _open_calamine(path, kind, fmt)
    elif fmt == "xlsx":
        table = _open_xlsx(path, kind)
    elif fmt == "json":
        try:
            table = _open_json(path, kind, size)
        except FileRejected as e:
            if suffix == ".json" or e.reason != "unreadable":
                raise
            table = _open_csv(path, kind, head, complete=size <= SNIFF_BYTES)  # a CSV whose first cell starts with [
    else:
        table = _open_csv(path, kind, head, complete=size <= SNIFF_BYTES)
    table.notes[:0] = notes
    return table


def _open_json(path: Path, kind: Kind, size: int) -> Table:
    from stic.intake.readers.json_stream import (
        open_json,  # streaming, in two passes: memory flat in the file's size
    )

    if size > MAX_JSON_BYTES:
        raise FileRejected(
            "too_large", f"{path.name}: {size // (1024 * 1024)} MB of JSON; above {MAX_JSON_BYTES // (1024 * 1024)} MB send CSV"
        )
    headers, rows = open_json(path, path.name)
    return Table(path, "json", headers, 0, rows, encoding="utf-8")
