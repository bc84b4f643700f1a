"""XLSX above calamine's size threshold, streamed row by row through openpyxl's read-only mode."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stic.contract.kinds import Kind
from stic.intake.readers.table import MAX_MERGED_RANGES, FileRejected, Table
from stic.intake.readers.workbook import _read_workbook, _xlsx_errors

_MERGE_REF = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"([A-Z]{1,3}[0-9]{1,7}:[A-Z]{1,3}[0-9]{1,7})\"")


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
