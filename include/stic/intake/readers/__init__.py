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
`stic.load`). The caps that keep memory bounded are the MAX_* constants below (docs/reliability.md).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stic.contract.kinds import MONEY, Kind
from stic.intake.normalise import map_headers, score_header
from stic.intake.readers.calamine import CALAMINE_MAX_XLSX_BYTES, declares_dtd

HEADER_SCAN_ROWS = 30
HEADER_SCAN_CELLS = 500  # a "header" wider than this is not one
SNIFF_BYTES = 256 * 1024
# Caps that keep a hostile file's memory bounded (docs/reliability.md, tests/reliability/test_memory_bounds.py).
MAX_FIELD_CHARS = 1_000_000  # one cell: a CSV field, a JSON string (a workbook's: MAX_XML_RUN_BYTES)
MAX_LINE_BYTES = 1024 * 1024  # one physical CSV line (UTF-16: in characters); a real row is a few KB
MAX_COLUMNS = 16_384  # Excel's last column (XFD): a row wider than any spreadsheet is not a table row
MAX_JSON_BYTES = 200 * 1024 * 1024  # read as a stream (stic.intake.readers.json_stream), in time; larger submissions come as CSV
# Bytes between two '<' in a workbook's XML: one tag and the text after it, so one cell's text; room for
# MAX_FIELD_CHARS characters of Chinese (3 bytes each in UTF-8) with some escapes.
MAX_XML_RUN_BYTES = 4 * MAX_FIELD_CHARS
MAX_XLSX_UNCOMPRESSED = 1_500 * 1024 * 1024  # a zip bomb expands far past any real submission
MAX_XLSX_RATIO = 200
MAX_MERGED_RANGES = 100_000
DELIMITERS = (",", "\t", ";", "|")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MERGE_REF = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Z]{1,3}[0-9]{1,7}:[A-Z]{1,3}[0-9]{1,7})\"")
_UNIT_LINE = re.compile(r"^\s*(?:单位|金额单位|计量单位|units?)\s*[:：]\s*(?P<unit>\S.*?)\s*$", re.IGNORECASE)


class FileRejected(Exception):
    """The whole file cannot be accepted; `reason` is a short rule id, the message says what to do."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


@dataclass
class Table:
    path: Path
    format: str
    headers: list[Any]
    header_row: int
    rows: Iterator[tuple[int, str | None, list[Any]]]
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    # Rows recognised as layout, not data, filled while `rows` is read: {row, sheet, reason, text}.
    skipped: list[dict] = field(default_factory=list)


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


def _utf8_lines(sample: bytes, complete: bool) -> list[int]:
    """1-based numbers of the lines that are UTF-8 text with CJK characters (in a file that is not UTF-8)."""
    lines = sample.split(b"\n")
    if not complete:
        lines = lines[:-1]  # the sample may end inside a character
    return [i for i, line in enumerate(lines, start=1) if _is_utf8_cjk(line)]


def _is_utf8_cjk(line: bytes) -> bool:
    if line.isascii():
        return False
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return any(ord(ch) >= 0x800 for ch in text)


def detect_encoding(sample: bytes, complete: bool, name: str = "the file") -> str:
    """utf-8-sig, utf-8, gb18030 or utf-16 — decided strictly on a sample, never guessed into mojibake.

    GB18030 decodes almost any byte string, UTF-8 Chinese included (as nonsense). So a sample that is
    not UTF-8 but holds lines that are UTF-8 Chinese is a file mixing encodings: rejected, not garbled.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")(errors="strict").decode(sample, final=complete)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")(errors="strict").decode(sample, final=complete)
    except UnicodeDecodeError:
        mixed = _utf8_lines(sample, complete)
        what = f"mixes encodings (line {mixed[0]} is UTF-8, others are not)" if mixed else "is not text in UTF-8 or GB18030/GBK"
        raise FileRejected(
            "encoding",
            f"{name}: the file {what}; save the whole file as 'CSV UTF-8' (Excel: Save As → CSV UTF-8) and send it again",
        ) from None
    mixed = _utf8_lines(sample, complete)
    if mixed:
        raise FileRejected(
            "encoding",
            f"{name}: the file mixes encodings (line {mixed[0]} is UTF-8, other lines are GBK/GB18030); "
            "save the whole file in one encoding ('CSV UTF-8') and send it again",
        )
    return "gb18030"


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


def _blank(c: Any) -> bool:
    return c is None or (isinstance(c, str) and not c.strip())


def _is_child_row(parent: list[Any], child: list[Any]) -> bool:
    """Whether `child` is the next header level below `parent`, not a data row.

    A child row has cells only under groups of the parent: a parent cell followed by empty cells (a merged
    or centred 资金来源（万元）), whose first column and the empty ones after it hold the child labels.
    Under a single-column header (项目编号, merged down over both rows) a child row is empty; a data row
    is not (its key is there), so a data row is never taken for a header level.
    """
    width = max(len(parent), len(child))
    p = parent + [None] * (width - len(parent))
    c = child + [None] * (width - len(child))
    if all(_blank(v) for v in c):
        return False
    group_start = None  # the column of the parent cell whose group the scan is in
    for j in range(width):
        if not _blank(p[j]):
            group_start = j if j + 1 < width and _blank(p[j + 1]) and not _blank(c[j]) else None
            if not _blank(c[j]) and group_start is None:
                return False
        elif not _blank(c[j]) and group_start is None:
            return False
    return True


def _flatten(levels: list[list[Any]]) -> list[Any]:
    """One header per column from header rows, parent first, joined by '-': 资金来源（万元）-中央财政.

    A parent cell stands over the empty cells to its right within its own parent's group; it is only
    written into a column that has a label below it (a blank spacer column stays blank, not a duplicate).
    """
    if len(levels) == 1:
        return list(levels[0])
    width = max(len(r) for r in levels)
    rows = [r + [None] * (width - len(r)) for r in levels]
    owners: list[list[int | None]] = []
    for k, r in enumerate(rows):
        own: list[int | None] = []
        for j in range(width):
            if not _blank(r[j]):
                own.append(j)
            elif j > 0 and (k == 0 or owners[k - 1][j] == owners[k - 1][j - 1]):
                own.append(own[j - 1])
            else:
                own.append(None)
        owners.append(own)
    out: list[Any] = []
    for j in range(width):
        parts: list[str] = []
        for k, r in enumerate(rows):
            o = owners[k][j]
            if o is None:
                continue
            if o != j and not any(not _blank(rows[d][j]) for d in range(k + 1, len(rows))):
                continue  # a parent over a column with no label of its own below it
            text = str(r[o]).strip()
            if not parts or parts[-1] != text:
                parts.append(text)
        out.append("-".join(parts) if parts else None)
    return out


def _header_levels(kind: Kind, first_rows: list[tuple[int, list[Any]]], i: int) -> list[list[Any]]:
    """The header rows starting at first_rows[i]: itself, and up to two child levels below it.

    Only a row that is a header on its own (two columns of the kind at least) can be a parent, so a title
    line or a '单位：万元' line above the header is never taken for a parent level.
    """
    top = first_rows[i][1][:HEADER_SCAN_CELLS]
    levels = [top]
    if sum(not _blank(c) for c in top) < 2 or score_header(kind, top) < 2:
        return levels
    for k in (i + 1, i + 2):
        if k >= len(first_rows) or not _is_child_row(levels[-1], first_rows[k][1][:HEADER_SCAN_CELLS]):
            break
        levels.append(first_rows[k][1][:HEADER_SCAN_CELLS])
    return levels


def _pick_header(kind: Kind, first_rows: list[tuple[int, list[Any]]], where: str) -> tuple[int, int, list[Any]]:
    """(index of the first header row, index of the last, flattened headers): the header naming the most
    columns of the kind, of one to three levels; on a tie the upper one."""
    best_i, best_end, best, best_headers = -1, -1, 0, []
    for i in range(len(first_rows)):
        levels = _header_levels(kind, first_rows, i)
        headers = _flatten(levels)
        s = score_header(kind, headers[:HEADER_SCAN_CELLS])
        if s > best:
            best_i, best_end, best, best_headers = i, i + len(levels) - 1, s, headers
    if best < 2:
        shown = [str(c)[:40] for c in (first_rows[0][1][:HEADER_SCAN_CELLS] if first_rows else []) if c not in (None, "")][:8]
        raise FileRejected(
            "no_header",
            f"{where}: no header row of {kind.name} found in the first {HEADER_SCAN_ROWS} rows "
            f"(first row: {shown}); expected columns such as {', '.join(kind.column_names[:5])}",
        )
    return best_i, best_end, best_headers


_TOTAL_LABEL = re.compile(
    r"(?:本页|本表|全区|全市|总)?(?:合计|总计|小计|共计)(?:\(.*\))?:?|(?:grand)?(?:sub-?)?totals?(?:\(.*\))?:?"
)
_NOTES_LABEL = re.compile(
    r"(?:填表人|填报人|制表人|联系人|联系电话|电话|审核人|审核|负责人|单位负责人|分管领导|填报日期|填表日期|报送日期"
    r"|填报单位\(盖章\)|注|说明|备注|notes?|preparedby|contact)\d*[:.、]"
)
_ASCII_LABEL_WORDS = ("total", "note", "contact", "preparedby")  # every ASCII word the two patterns above accept
_PLACEHOLDER = re.compile(r"[-—–/\\.·*]*")  # a key cell of a total row is often '-' or '/'


def layout_row_reason(cells: list[Any], key_index: int | None) -> str | None:
    """'total_row' or 'notes_line' when a row is part of the form, not data; else None.

    Decided by the row's label, its first non-empty cell: a total word (合计, 小计, 总计, Total, …,
    spaces ignored: 合  计) or a signature/notes label with its colon (填表人：, 联系电话：, 注：, Note:).
    The row's key cell must be empty or be that label, so a project titled '合计…' is still data.
    """
    label_i = next((j for j, c in enumerate(cells) if not _blank(c)), None)
    if label_i is None or not isinstance(cells[label_i], str):
        return None
    if key_index is not None and key_index != label_i and key_index < len(cells):
        key = cells[key_index]
        if not _blank(key) and not (isinstance(key, str) and _PLACEHOLDER.fullmatch(key.strip())):
            return None
    text = cells[label_i]
    if text.isascii():
        # The common label, a project code or a name in ASCII: no NFKC, no regex unless a label word is in it
        # (profiled: this check ran on every row of every file).
        compact = "".join(text.split()).lower()
        if not any(w in compact for w in _ASCII_LABEL_WORDS):
            return None
    import unicodedata

    label = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()
    if _TOTAL_LABEL.fullmatch(label):
        return "total_row"
    if _NOTES_LABEL.match(label):
        return "notes_line"
    return None


def _skip_layout_rows(rows: Iterator[tuple[int, str | None, list[Any]]], key_index: int | None,
                      skipped: list[dict]) -> Iterator[tuple[int, str | None, list[Any]]]:
    for n, sheet, cells in rows:
        reason = layout_row_reason(cells, key_index)
        if reason is None:
            yield n, sheet, cells
        else:
            skipped.append(_skipped(n, sheet, reason, cells))


def _skipped(n: int, sheet: str | None, reason: str, cells: list[Any]) -> dict:
    text = " | ".join(str(int(c) if isinstance(c, float) and c.is_integer() else c).strip() for c in cells if not _blank(c))
    return {"row": n, "sheet": sheet, "reason": reason, "text": text[:300]}


def _title_unit(first_rows: list[tuple[int, list[Any]]], header_index: int) -> str | None:
    """A unit told above the header, e.g. a line '单位：万元' under the title of a Chinese report."""
    from stic.contract import codes

    for _n, cells in first_rows[:header_index]:
        for c in cells[:HEADER_SCAN_CELLS]:
            m = _UNIT_LINE.match(str(c)) if isinstance(c, str) else None
            if m:
                try:
                    return codes.resolve("unit", m["unit"])
                except codes.CodeError:
                    continue
    return None


def _apply_title_unit(kind: Kind, headers: list[Any], unit: str | None, notes: list[str]) -> list[Any]:
    """Write a unit given above the header into the amount headers that state none (so the load sees it)."""
    if unit is None:
        return headers
    from stic.contract import codes

    hm = map_headers(kind, headers)
    if hm.unit_position is not None:
        return headers
    zh = codes.entries("unit")[unit]["zh"]
    out = list(headers)
    changed = []
    for col, i in hm.positions.items():
        if kind.column(col).type == MONEY and col not in hm.units:
            out[i] = f"{headers[i]}({zh})"
            changed.append(str(headers[i]))
    if changed:
        notes.append(f"unit {zh} stated above the header applied to: {', '.join(changed)}")
    return out


# ---------------------------------------------------------------------------------------------- CSV


def _lines(raw, encoding: str, name: str) -> Iterator[str]:
    """Decoded physical lines, strictly; a line too long or in another encoding rejects the file."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    check_utf8 = encoding == "gb18030"
    n = 0
    while True:
        line = raw.readline(MAX_LINE_BYTES + 1)
        if not line:
            break
        n += 1
        if len(line) > MAX_LINE_BYTES:
            raise FileRejected(
                "line_too_long",
                f"{name}: line {n} is longer than {MAX_LINE_BYTES // 1024} KB; this is not a table of rows "
                "(check the line endings, or that this is the right file)",
            )
        if check_utf8 and _is_utf8_cjk(line):
            raise FileRejected(
                "encoding",
                f"{name}: line {n} is UTF-8 but the file is GBK/GB18030 (the file mixes encodings); "
                "save the whole file in one encoding ('CSV UTF-8') and send it again",
            )
        try:
            yield decoder.decode(line)
        except UnicodeDecodeError:
            raise FileRejected(
                "encoding",
                f"{name}: line {n} is not valid {encoding} (the file mixes encodings); "
                "save the whole file in one encoding ('CSV UTF-8') and send it again",
            ) from None
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise FileRejected("encoding", f"{name}: the file ends inside a {encoding} character (truncated?)") from None
    if tail:
        yield tail


def _utf16_lines(raw, name: str) -> Iterator[str]:
    """Decoded lines of a UTF-16 file (BOM first), at most MAX_LINE_BYTES characters each, never one whole.

    A TextIOWrapper's own line iteration reads a line however long it is: one 400 MB line was 400 MB.
    """
    text = io.TextIOWrapper(raw, encoding="utf-16", errors="strict", newline="")
    n = 0
    while True:
        line = text.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        n += 1
        if len(line) > MAX_LINE_BYTES:
            raise FileRejected(
                "line_too_long",
                f"{name}: line {n} is longer than {MAX_LINE_BYTES:,} characters; this is not a table of rows "
                "(check the line endings, or that this is the right file)",
            )
        yield line


def _pick_delimiter(kind: Kind, sample: str) -> str:
    """The delimiter under which the first lines hold the best header of the kind (ties: comma)."""
    best, best_score = ",", -1
    for d in DELIMITERS:
        if d not in sample:
            continue
        score = 0
        try:
            for i, cells in enumerate(csv.reader(io.StringIO(sample), delimiter=d)):
                score = max(score, score_header(kind, cells[:HEADER_SCAN_CELLS]))
                if i >= HEADER_SCAN_ROWS:
                    break
        except csv.Error:
            pass
        if score > best_score:
            best, best_score = d, score
    return best


def _open_csv(path: Path, kind: Kind, head: bytes, complete: bool) -> Table:
    encoding = detect_encoding(head, complete, path.name)
    csv.field_size_limit(MAX_FIELD_CHARS)
    cut = head.rfind(b"\n") if not complete else len(head)
    sample_bytes = head[: cut if cut > 0 else len(head)][:64 * 1024]
    if encoding == "utf-16":
        sample = head[:64 * 1024].decode("utf-16", errors="ignore")
    else:
        sample = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample_bytes)
    delimiter = _pick_delimiter(kind, sample)
    raw = path.open("rb")
    source = _utf16_lines(raw, path.name) if encoding == "utf-16" else _lines(raw, encoding, path.name)
    reader = csv.reader(source, delimiter=delimiter)

    def numbered() -> Iterator[tuple[int, list[str]]]:
        try:
            for cells in reader:
                if len(cells) > MAX_COLUMNS:
                    raise FileRejected(
                        "too_many_columns",
                        f"{path.name}: line {reader.line_num} has {len(cells):,} columns (at most {MAX_COLUMNS:,}, "
                        "as in Excel); this is not a table of rows — check the delimiter, or that this is the right file",
                    )
                yield reader.line_num, cells
        except UnicodeDecodeError as e:
            raise FileRejected(
                "encoding",
                f"{path.name}: near line {reader.line_num + 1}, bytes are not valid {encoding} "
                f"(the file mixes encodings); save the whole file in one encoding",
            ) from e
        except csv.Error as e:
            raise FileRejected("unreadable", f"{path.name}: line {reader.line_num}: {e}") from e

    it = numbered()
    first: list[tuple[int, list[Any]]] = []
    try:
        for n, cells in it:
            if any(c.strip() for c in cells):
                first.append((n, cells))
            if len(first) >= HEADER_SCAN_ROWS:
                break
        if not first:
            raise FileRejected("empty", f"{path.name}: the file has no rows")
        h, h_end, headers = _pick_header(kind, first, path.name)
    except BaseException:
        raw.close()
        raise
    header_row = first[h_end][0]
    notes: list[str] = []
    if delimiter != ",":
        notes.append(f"columns are separated by {delimiter!r}")
    if h_end > h:
        notes.append(f"a header of {h_end - h + 1} rows (lines {first[h][0]}–{header_row}) was read as one, parent-child")
    headers = _apply_title_unit(kind, headers, _title_unit(first, h), notes)

    def rows() -> Iterator[tuple[int, str | None, list[Any]]]:
        try:
            for n, cells in first[h_end + 1 :]:
                yield n, None, cells
            for n, cells in it:
                if any(c.strip() for c in cells):
                    yield n, None, cells
        finally:
            raw.close()

    table = Table(path, "csv", headers, header_row, rows(), encoding=encoding, notes=notes)
    table.rows = _skip_layout_rows(table.rows, map_headers(kind, headers).positions.get(kind.key), table.skipped)
    return table


# --------------------------------------------------------------------------------------------- XLSX


ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


def _is_ods(path: Path, names: set[str]) -> bool:
    """An OpenDocument spreadsheet by content: its `mimetype` member says so (the ODF package rule)."""
    if "mimetype" not in names or "content.xml" not in names:
        return False
    try:
        with zipfile.ZipFile(path) as z, z.open("mimetype") as f:
            return f.read(len(ODS_MIMETYPE) + 2).strip() == ODS_MIMETYPE
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError):
        return False


def _check_zip(path: Path) -> str:
    """'xlsx' or 'ods', or FileRejected for a zip that is neither, broken, or a zip bomb."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise FileRejected("unreadable", f"{path.name}: not a valid XLSX (zip) file: {e}") from e
    names = {i.filename for i in infos}
    zip_kind = "ods" if _is_ods(path, names) else "xlsx"
    if zip_kind == "xlsx" and "xl/workbook.xml" not in names and not any(n.endswith("workbook.xml") for n in names):
        raise FileRejected(
            "unreadable", f"{path.name}: a ZIP archive but not an XLSX workbook (no xl/workbook.xml) nor an ODS spreadsheet"
        )
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_XLSX_UNCOMPRESSED or (total > 50 * 1024 * 1024 and total / packed > MAX_XLSX_RATIO):
        raise FileRejected(
            "zip_bomb",
            f"{path.name}: expands to {total // (1024 * 1024)} MB from {packed // 1024} KB; "
            "refused as a possible zip bomb — send the data as CSV",
        )
    _check_xml_cells(path)
    return zip_kind


class _TextTooLong(Exception):
    pass


def _check_xml_cells(path: Path) -> None:
    """Refuse a workbook one of whose XML parts holds a text (a cell) longer than MAX_XML_RUN_BYTES.

    openpyxl and calamine both hold a cell's whole text, and more: one 1.4 GB shared string (under the zip
    bomb limits) took 2.9 GB and 93 s. So every XML part is streamed once, before either opens the file,
    1 MB at a time: a text has no '<', so the bytes between two '<' bound it (a chunk no longer than the cap
    cannot hide a longer run inside it). A part with CDATA (whose text may hold '<') or in UTF-16 is
    measured by expat instead, element by element. Parts that are not XML (images) hold no cells.
    """
    chunk_size = 1024 * 1024
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            if info.is_dir():
                continue
            try:
                with z.open(info) as f:
                    head = f.read(chunk_size)
                    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                        too_long = _xml_text_too_long(head, f)
                    elif not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
                        continue
                    else:
                        too_long = _xml_run_too_long(head, f)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, zlib.error):
                continue  # a broken part: the reader names what is wrong with it
            if too_long:
                raise FileRejected(
                    "cell_too_large",
                    f"{path.name}: part {info.filename} holds a text longer than {MAX_XML_RUN_BYTES // 1_000_000} MB "
                    f"(a cell holds at most {MAX_FIELD_CHARS:,} characters); this is not a table — "
                    "check that this is the right file",
                )


def _xml_run_too_long(chunk: bytes, f) -> bool:
    run, tail = 0, b""
    while chunk:
        if b"<![CDATA[" in tail + chunk[:16] or b"<![CDATA[" in chunk:
            return _xml_text_too_long(chunk, f, restart=True)
        first = chunk.find(b"<")
        if first < 0:
            run += len(chunk)
        else:
            if run + first > MAX_XML_RUN_BYTES:
                return True
            run = len(chunk) - chunk.rfind(b"<") - 1
        if run > MAX_XML_RUN_BYTES:
            return True
        tail = chunk[-16:]
        chunk = f.read(1024 * 1024)
    return False


def _xml_text_too_long(chunk: bytes, f, restart: bool = False) -> bool:
    """expat's count of each element's text (CDATA included); entities are refused as openpyxl refuses them."""
    from xml.parsers import expat

    if restart:  # expat needs the part from its start
        f.seek(0)
        chunk = f.read(1024 * 1024)
    parser = expat.ParserCreate()
    run = 0

    def text(data: str) -> None:
        nonlocal run
        run += len(data)
        if run > MAX_FIELD_CHARS:
            raise _TextTooLong

    def element(*_args) -> None:
        nonlocal run
        run = 0

    def entity(*_args) -> None:
        raise FileRejected("unsafe_xml", "declares entities")

    parser.CharacterDataHandler = text
    parser.StartElementHandler = parser.EndElementHandler = element
    parser.EntityDeclHandler = entity
    try:
        while chunk:
            parser.Parse(chunk, False)
            chunk = f.read(1024 * 1024)
        parser.Parse(b"", True)
    except _TextTooLong:
        return True
    except FileRejected:
        return False  # openpyxl's defusedxml refuses the file with its own message (unsafe_xml)
    except expat.ExpatError:
        return False  # broken XML: the reader says so
    return False


@contextmanager
def _xlsx_errors(path: Path, where: str = "", label: str = "XLSX"):
    """Turn whatever openpyxl or the XML parser raises for a hostile or broken workbook into FileRejected."""
    try:
        yield
    except FileRejected:
        raise
    except Exception as e:  # openpyxl raises many types for broken files
        from defusedxml import DefusedXmlException

        causes, c = [], e
        while c is not None and len(causes) < 10:
            causes.append(c)
            c = c.__cause__ or c.__context__
        unsafe = [c for c in causes if isinstance(c, DefusedXmlException)]
        if unsafe:
            raise FileRejected(
                "unsafe_xml",
                f"{path.name}{where}: the workbook's XML declares entities or a DTD ({type(unsafe[0]).__name__}); "
                "refused as unsafe (possible entity-expansion attack) — save it again from Excel or send CSV",
            ) from e
        raise FileRejected(
            "unreadable", f"{path.name}{where}: cannot be read as {label} ({type(e).__name__}: {str(e)[:200]})"
        ) from e


def _merged_ranges(path: Path, member: str | None) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of the merged ranges of one sheet, read from its XML by a scan.

    openpyxl's read-only mode does not expose merged cells, and its full mode builds a cell for every
    cell a merge covers (a merge over a whole sheet is 17 billion cells); a streaming scan costs neither.
    """
    if not member:
        return []
    from openpyxl.utils.cell import range_boundaries

    out: list[tuple[int, int, int, int]] = []
    with zipfile.ZipFile(path) as z:
        try:
            f = z.open(member.lstrip("/"))
        except KeyError:
            return []
        with f:
            rest = b""
            while True:
                chunk = f.read(1024 * 1024)
                if not chunk:
                    break
                buf = rest + chunk
                cut = buf.rfind(b">") + 1
                for m in _MERGE_REF.finditer(buf, 0, cut):
                    out.append(range_boundaries(m[1].decode("ascii")))
                    if len(out) > MAX_MERGED_RANGES:
                        raise FileRejected("unreadable", f"{path.name}: more than {MAX_MERGED_RANGES} merged ranges")
                rest = buf[cut:][-4096:]
    return out


class _MergeFiller:
    """Give the value of a merged range's top-left cell to every cell of the range, row by row."""

    def __init__(self, ranges: list[tuple[int, int, int, int]], header_row: int, width: int):
        # Only ranges below the header matter; only columns of the header are filled.
        self.pending = sorted((r for r in ranges if r[1] > header_row and r[0] <= width), key=lambda r: r[1])
        self.active: list[tuple[tuple[int, int, int, int], Any]] = []
        self.width = width

    def __call__(self, n: int, cells: list[Any]) -> list[Any]:
        while self.pending and self.pending[0][1] <= n:
            r = self.pending.pop(0)
            if r[1] == n:
                self.active.append((r, cells[r[0] - 1] if r[0] - 1 < len(cells) else None))
        self.active = [(r, v) for r, v in self.active if r[3] >= n]
        if not self.active:
            return cells
        for (c1, _r1, c2, _r2), v in self.active:
            last = min(c2, self.width)
            if len(cells) < last:
                cells = cells + [None] * (last - len(cells))
            for c in range(c1, last + 1):
                cells[c - 1] = v
        return cells


class _OpenpyxlSheet:
    """An openpyxl read-only worksheet seen as CalamineSheet is (head, merged, rows): the streaming path."""

    def __init__(self, path: Path, ws):
        self.path, self.ws, self.title = path, ws, ws.title

    def head(self, max_row: int) -> list[tuple[int, list[Any]]]:
        if hasattr(self.ws, "reset_dimensions"):
            self.ws.reset_dimensions()  # never trust <dimension>: A1:XFD1048576 would pad every row to 16384 cells
        first = []
        for n, cells in enumerate(self.ws.iter_rows(values_only=True, max_row=max_row), start=1):
            if any(c not in (None, "") for c in cells):
                first.append((n, list(cells)))
        return first

    def merged(self) -> list[tuple[int, int, int, int]]:
        return _merged_ranges(self.path, getattr(self.ws, "_worksheet_path", None))

    def rows(self, min_row: int) -> Iterator[tuple[int, list[Any]]]:
        for n, cells in enumerate(self.ws.iter_rows(min_row=min_row, values_only=True), start=min_row):
            yield n, list(cells)

    def release(self) -> None:
        pass


def _open_xlsx(path: Path, kind: Kind) -> Table:
    import openpyxl  # with defusedxml installed, openpyxl parses XML through it (no entity expansion)

    # A file object, not the path: openpyxl refuses a path by its extension, and content decides here.
    f = path.open("rb")
    try:
        with _xlsx_errors(path):
            wb = openpyxl.load_workbook(f, read_only=True, data_only=True)
    except BaseException:
        f.close()
        raise

    def close() -> None:
        wb.close()
        f.close()

    try:
        return _read_workbook(path, kind, "xlsx", [_OpenpyxlSheet(path, ws) for ws in wb.worksheets], close)
    except BaseException:
        close()
        raise


def _open_calamine(path: Path, kind: Kind, fmt: str) -> Table:
    """XLS, ODS and XLSX up to CALAMINE_MAX_XLSX_BYTES, whole sheets read by calamine (see readers_calamine)."""
    from stic.intake.readers import calamine as readers_calamine

    try:
        book, sheets, close = readers_calamine.open_book(path, fmt, MAX_MERGED_RANGES)
    except readers_calamine.Unreadable as e:
        if e.encrypted or (fmt == "xls" and readers_calamine.ole2_is_encrypted(path)):
            raise FileRejected(
                "encrypted",
                f"{path.name}: the workbook is protected by a password (encrypted), so it cannot be read; "
                "open it in Excel, remove the password (File → Info → Protect Workbook → Encrypt with Password: "
                "clear it), save it and send it again",
            ) from e
        what = {"xls": "an Excel 97-2003 (.xls) workbook", "ods": "an ODS spreadsheet"}.get(fmt, "XLSX")
        raise FileRejected(
            "unreadable",
            f"{path.name}: cannot be read as {what} ({e}); open it in Excel or LibreOffice, "
            "save it as .xlsx or as CSV UTF-8, and send it again",
        ) from e
    try:
        return _read_workbook(path, kind, fmt, sheets, close)
    except BaseException:
        close()
        raise


def _read_workbook(path: Path, kind: Kind, fmt: str, worksheets: list, close) -> Table:
    sheets = []  # (worksheet, header_row, headers, merged ranges, key index)
    notes: list[str] = []
    label = fmt.upper()
    for ws in worksheets:
        where = f" sheet {ws.title!r}"
        with _xlsx_errors(path, where, label):
            first = ws.head(HEADER_SCAN_ROWS)
        try:
            h, h_end, hdr = _pick_header(kind, first, f"{path.name}{where}")
        except FileRejected:
            ws.release()
            continue
        if h_end > h:
            notes.append(f"sheet {ws.title!r}: a header of {h_end - h + 1} rows ({first[h][0]}–{first[h_end][0]}) "
                         "was read as one, parent-child")
        hdr = _apply_title_unit(kind, hdr, _title_unit(first, h), notes)
        while hdr and hdr[-1] in (None, ""):
            hdr = hdr[:-1]
        with _xlsx_errors(path, where, label):
            merged = ws.merged()
            if len(merged) > MAX_MERGED_RANGES:
                raise FileRejected("unreadable", f"{path.name}: more than {MAX_MERGED_RANGES} merged ranges")
        sheets.append((ws, first[h_end][0], hdr, merged, map_headers(kind, hdr).positions.get(kind.key)))
    if not sheets:
        raise FileRejected(
            "no_header",
            f"{path.name}: no sheet has a header row of {kind.name} in its first {HEADER_SCAN_ROWS} rows; "
            f"expected columns such as {', '.join(kind.column_names[:5])}",
        )
    headers = list(sheets[0][2])
    # A column that only a later sheet has is read too (never dropped with a note): it is appended to the
    # table's header under its canonical name, and every sheet's cells are moved into that wider layout.
    first_cols = set(map_headers(kind, headers).positions)
    extra: list[str] = []
    for _ws, _, hdr, _m, _k in sheets[1:]:
        extra += [c for c in map_headers(kind, hdr).positions if c not in first_cols and c not in extra]
    if extra:
        headers += extra
        notes.append(f"columns only later sheets have were read too: {', '.join(extra)}")
    base = map_headers(kind, headers)
    layouts = []
    for ws, _, hdr, _m, _k in sheets:
        layouts.append(_sheet_layout(path, kind, base, headers, ws.title, hdr, sheets[0][0].title, notes))
    skipped_sheets = [ws.title for ws in worksheets if ws.title not in {s[0].title for s in sheets}]
    if skipped_sheets:
        notes.append(f"sheets without a {kind.name} header were skipped: {', '.join(skipped_sheets)}")
    if len(sheets) > 1:
        notes.append(f"rows read from sheets: {', '.join(s[0].title for s in sheets)}")
    skipped: list[dict] = []

    def rows() -> Iterator[tuple[int, str | None, list[Any]]]:
        try:
            for (ws, header_row, hdr, merged, key_index), layout in zip(sheets, layouts, strict=True):
                fill = _MergeFiller(merged, header_row, len(hdr))
                with _xlsx_errors(path, f" sheet {ws.title!r}", label):
                    for n, cells in ws.rows(header_row + 1):
                        empty = not any(c not in (None, "") for c in cells)
                        # Told by the row as written: a 合计 merged across the key column is still a total row.
                        reason = None if empty else layout_row_reason(cells, key_index)
                        if reason:
                            skipped.append(_skipped(n, ws.title, reason, cells))
                        cells = fill(n, cells)
                        if empty or reason:
                            continue
                        yield n, ws.title, layout(cells) if layout else cells
                ws.release()
        finally:
            close()

    return Table(path, fmt, headers, sheets[0][1], rows(), notes=notes, skipped=skipped)


def _sheet_layout(path, kind: Kind, base, headers, title: str, hdr: list[Any], first_title: str, notes: list[str]):
    """None when a sheet has the first sheet's columns, else a function that moves its cells into that layout.

    Amounts keep their own sheet's unit: the value is written with its unit ('12.5万元'), which the normaliser
    reads before any header unit. A later sheet missing required columns, or stating no unit, rejects the file.
    """
    from stic.contract import codes

    own = map_headers(kind, hdr)
    if own.positions == base.positions and own.units == base.units and own.unit_position == base.unit_position:
        return None
    if own.missing:
        raise FileRejected(
            "missing_columns",
            f"{path.name} sheet {title!r}: required column(s) missing: {', '.join(own.missing)} "
            f"(its header has: {', '.join(str(c) for c in hdr if c not in (None, ''))})",
        )
    if own.problems:
        raise FileRejected("bad_columns", f"{path.name} sheet {title!r}: " + "; ".join(own.problems))
    from stic.contract import headers as header_words

    # Cells are moved by column name, so an unmapped column of this sheet would be left behind: one whose
    # header says it carries amounts rejects the file here, as the loader does for a single sheet.
    lost = header_words.unmapped_amounts(kind, hdr, own.positions, own.unit_position, [])
    if lost:
        raise FileRejected("unmapped_amount", f"{path.name} sheet {title!r}: " + "; ".join(lost.values()))
    notes.append(f"sheet {title!r} has other columns than {first_title!r}; its cells were matched by column name")
    zh = {code: e["zh"] for code, e in codes.entries("unit").items()}
    width = max([*base.positions.values(), base.unit_position or 0]) + 1

    def layout(cells: list[Any]) -> list[Any]:
        out: list[Any] = [None] * width
        row_unit = None
        if own.unit_position is not None and own.unit_position < len(cells):
            row_unit = cells[own.unit_position]
        for col, i in base.positions.items():
            j = own.positions.get(col)
            v = cells[j] if j is not None and j < len(cells) else None
            if v not in (None, "") and kind.column(col).type == MONEY:
                unit = own.units.get(col)
                if unit is not None:
                    v = f"{v}{zh[unit]}"
                elif row_unit not in (None, ""):
                    try:
                        v = f"{v}{zh[codes.resolve('unit', str(row_unit))]}"
                    except codes.CodeError:
                        v = f"{v} {row_unit}"  # unreadable on purpose: the row is quarantined, naming the value
            out[i] = v
        if base.unit_position is not None:
            out[base.unit_position] = row_unit
        return out

    return layout


# --------------------------------------------------------------------------------------------- JSON


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
