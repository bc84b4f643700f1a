"""Read Excel 97-2003 (.xls), OpenDocument (.ods) and moderate XLSX workbooks through calamine (Rust).

calamine reads a whole sheet into memory, several times faster than openpyxl; `stic.intake.readers` sends it
XLS and ODS (which no streaming reader here can read) and XLSX files up to `CALAMINE_MAX_XLSX_BYTES`,
so that memory stays bounded. Larger XLSX go through openpyxl's streaming path.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Measured here (`stic check` of bench-generated project workbooks, 15 columns; peak RSS over a 37 MB idle
# process): 0.5 MB: calamine 0.6 s / 46 MB, openpyxl 3.7 s / 61 MB; 1 MB: 1.5 s / 54 MB vs 9.1 s / 63 MB;
# 4 MB: 4.9 s / 103 MB vs 33 s / 67 MB; 16 MB: 22 s / 298 MB vs 111 s / 98 MB. calamine's memory grows with
# the file, openpyxl's stream does not: below this size calamine costs less memory than the stream and is
# 6x faster (a district's workbook of a few thousand rows); above it, the stream keeps memory flat. It sits
# under the bench's small XLSX (figure 2b, 1 MB at --quick), so that figure compares the stream with itself.
CALAMINE_MAX_XLSX_BYTES = 768 * 1024
ENCRYPTED_STREAMS = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class Unreadable(Exception):
    """calamine could not read the workbook; `encrypted` tells a password from a broken file."""

    def __init__(self, message: str, encrypted: bool = False):
        self.encrypted = encrypted
        super().__init__(message)


def ole2_is_encrypted(path: Path, limit: int = 64 * 1024 * 1024) -> bool:
    """True when an OLE2 file holds an EncryptionInfo/EncryptedPackage stream: a password-protected XLSX.

    The directory entries store stream names in UTF-16; a scan of the bytes finds them without an OLE2 parser.
    """
    tail = b""
    read = 0
    with path.open("rb") as f:
        while read < limit:
            chunk = f.read(1024 * 1024)
            if not chunk:
                break
            read += len(chunk)
            buf = tail + chunk
            if any(s in buf for s in ENCRYPTED_STREAMS):
                return True
            tail = buf[-64:]
    return False


def declares_dtd(path: Path) -> bool:
    """True when an XML part of the zip declares a DTD or entities (an XXE or entity-expansion attempt).

    calamine's XML parser expands no entities, but such a file is refused with the same clear reason
    whichever reader would read it; a DTD can only stand before the root element, so 4 KB per part suffice.
    """
    try:
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if not info.filename.endswith((".xml", ".rels")):
                    continue
                with z.open(info) as f:
                    if _DTD.search(f.read(4096)):
                        return True
    except Exception:  # a broken part: openpyxl's path names what is wrong
        return True
    return False


_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
MAX_ODS_REPEAT = 1 << 20  # LibreOffice writes the empty tail of a sheet as one cell repeated 16384 times


def ods_merged_ranges(path: Path, limit: int) -> dict[str, list[tuple[int, int, int, int]]]:
    """Merged ranges of each sheet of an ODS, (min_col, min_row, max_col, max_row) 1-based, from content.xml.

    calamine reads none for ODS; a streaming parse (defusedxml: no DTD, no entities) finds the cells that
    span columns or rows, counting repeated rows and cells the way ODF packs them.
    """
    from defusedxml.ElementTree import iterparse

    out: dict[str, list[tuple[int, int, int, int]]] = {}
    ranges: list[tuple[int, int, int, int]] = []
    row = col = 0
    n = 0
    with zipfile.ZipFile(path) as z, z.open("content.xml") as f:
        for event, el in iterparse(f, events=("start", "end")):
            tag = el.tag
            if event == "start":
                if tag == _TABLE + "table":
                    ranges, row = [], 0
                    out[el.get(_TABLE + "name", "")] = ranges
                elif tag == _TABLE + "table-row":
                    col = 0
                elif tag in (_TABLE + "table-cell", _TABLE + "covered-table-cell"):
                    cs = int(el.get(_TABLE + "number-columns-spanned", "1"))
                    rs = int(el.get(_TABLE + "number-rows-spanned", "1"))
                    if tag == _TABLE + "table-cell" and (cs > 1 or rs > 1):
                        ranges.append((col + 1, row + 1, col + cs, row + rs))
                        n += 1
                        if n > limit:
                            raise Unreadable(f"more than {limit} merged ranges")
                    col += min(int(el.get(_TABLE + "number-columns-repeated", "1")), MAX_ODS_REPEAT)
            else:
                if tag == _TABLE + "table-row":
                    row += min(int(el.get(_TABLE + "number-rows-repeated", "1")), MAX_ODS_REPEAT)
                if tag in (_TABLE + "table-row", _TABLE + "table"):
                    el.clear()
    return out


def _cell(v: Any) -> Any:
    if v == "":
        return None
    if isinstance(v, float) and v == v and v not in (float("inf"), float("-inf")):
        # Excel shows 15 significant digits; a stored 0.30000000000000004 is the 0.3 the submitter typed.
        return float(format(v, ".15g"))
    return v


class CalamineSheet:
    """One sheet: its first rows for the header search, its merged ranges, then its rows."""

    def __init__(self, book, name: str, ods_ranges: Any = None):
        self.title = name
        self._book = book
        self._sheet = None
        self._ods_ranges = ods_ranges  # a function giving each sheet's ranges, for ODS

    def _load(self):
        if self._sheet is None:
            try:
                self._sheet = self._book.get_sheet_by_name(self.title)
            except Exception as e:  # calamine raises its own errors and plain ones for broken parts
                raise Unreadable(f"sheet {self.title!r}: {type(e).__name__}: {str(e)[:200]}") from e
        return self._sheet

    def _iter(self) -> Iterator[tuple[int, list[Any]]]:
        sheet = self._load()
        # iter_rows starts at row 1 but at the first used column: pad back so column letters stay true.
        pad = [None] * (sheet.start[1] if sheet.start else 0)
        try:
            for n, cells in enumerate(sheet.iter_rows(), start=1):
                yield n, pad + [_cell(c) for c in cells]
        except Exception as e:
            raise Unreadable(f"sheet {self.title!r}: {type(e).__name__}: {str(e)[:200]}") from e

    def head(self, max_row: int) -> list[tuple[int, list[Any]]]:
        out = []
        for n, cells in self._iter():
            if n > max_row:
                break
            if any(c is not None for c in cells):
                out.append((n, cells))
        return out

    def merged(self) -> list[tuple[int, int, int, int]]:
        """(min_col, min_row, max_col, max_row), 1-based like openpyxl."""
        if self._ods_ranges is not None:
            return self._ods_ranges().get(self.title, [])
        ranges = self._load().merged_cell_ranges or []
        return [(c1 + 1, r1 + 1, c2 + 1, r2 + 1) for (r1, c1), (r2, c2) in ranges]

    def rows(self, min_row: int) -> Iterator[tuple[int, list[Any]]]:
        for n, cells in self._iter():
            if n >= min_row:
                yield n, cells

    def release(self) -> None:
        self._sheet = None


def open_book(path: Path, fmt: str, max_merged: int) -> tuple[Any, list[CalamineSheet], Any]:
    """The workbook, its worksheets (chart and macro sheets left out) and a function closing both, or Unreadable."""
    import python_calamine as pc

    # A file object, not the path: from_path picks the format by the file's extension, and the archived copy
    # a load reads has none; from a file object calamine tells XLSX, XLS and ODS apart by their content.
    f = path.open("rb")
    try:
        book = pc.CalamineWorkbook.from_filelike(f)
    except pc.PasswordError as e:
        f.close()
        raise Unreadable(str(e), encrypted=True) from e
    except Exception as e:
        f.close()
        text = str(e)
        raise Unreadable(f"{type(e).__name__}: {text[:200]}", encrypted="password" in text.lower() or "encrypt" in text.lower()) from e

    def close() -> None:
        book.close()
        f.close()

    ods_ranges = None
    if fmt == "ods":
        cache: dict = {}

        def ods_ranges() -> dict:
            if not cache:
                try:
                    cache.update(ods_merged_ranges(path, max_merged) or {"": []})
                except Unreadable:
                    raise
                except Exception as e:  # a broken or hostile content.xml
                    raise Unreadable(f"content.xml: {type(e).__name__}: {str(e)[:200]}") from e
            return cache

    sheets = []
    for meta in book.sheets_metadata:
        if meta.typ == pc.SheetTypeEnum.WorkSheet:
            sheets.append(CalamineSheet(book, meta.name, ods_ranges))
    return book, sheets, close
