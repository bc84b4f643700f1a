"""XLSX above calamine's size threshold, streamed row by row: openpyxl reads the package (sheets, shared
strings, date styles), the sheets' XML is parsed by expat straight into rows of values.

openpyxl's read-only iter_rows builds an object per cell (a 1,048,575-row, 8-column sheet took 270 s); the
expat handlers below give the same values as `iter_rows(values_only=True)` (same gaps, widths, types, dates)
several times faster, and tests/include/test_readers_xlsx_stream.py compares both on every workbook fixture.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
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


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ROW, _C, _V, _IS, _T, _R = (f"{_MAIN}}}{t}" for t in ("row", "c", "v", "is", "t", "r"))
_CHUNK = 256 * 1024


def _refuse_entities(*args) -> None:
    from defusedxml import EntitiesForbidden

    raise EntitiesForbidden(*(list(args) + [None] * 6)[:6])


def _refuse_external(*args) -> None:
    from defusedxml import ExternalReferenceForbidden

    raise ExternalReferenceForbidden(*(list(args) + [None] * 4)[:4])


def sheet_rows(source, shared_strings, date_formats, timedelta_formats, epoch,
               min_row: int = 1) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number, values) of a worksheet's XML from `min_row` on, as openpyxl's read-only
    `iter_rows(min_row=…, values_only=True)` yields them after `reset_dimensions()`: a missing row is `()`,
    a row is as wide as its last cell's column, with None where no cell is; a row number that goes
    backwards is skipped; numbers, shared and inline strings, booleans, ISO and styled dates as openpyxl
    casts them (data_only: a formula's cached value). Entity declarations are refused (defusedxml's rule)."""
    from xml.parsers import expat

    from openpyxl.utils.cell import coordinate_to_tuple
    from openpyxl.utils.datetime import from_excel, from_ISO8601
    from openpyxl.worksheet._reader import _cast_number

    done: list[tuple[int, list[tuple[int, Any]]]] = []
    stack: list[str] = []
    st = {"row": 0, "col": 0, "cells": None, "t": "n", "r": None, "s": 0, "text": None,
          "v": None, "plain": None, "runs": None, "run": None}
    text: list[str] = []

    def start(name: str, attrs: dict) -> None:
        parent = stack[-1] if stack else None
        stack.append(name)
        if name == _C and parent == _ROW:
            st["t"], st["r"], st["v"], st["plain"], st["runs"] = attrs.get("t", "n"), attrs.get("r"), None, None, None
            s_id = attrs.get("s", 0)
            st["s"] = int(s_id) if s_id else s_id
        elif name == _ROW:
            r = attrs.get("r")
            if r is not None:
                try:
                    st["row"] = int(r)
                except ValueError:
                    f = float(r)
                    if not f.is_integer():
                        raise ValueError(f"{r} is not a valid row number") from None
                    st["row"] = int(f)
            else:
                st["row"] += 1
            st["col"], st["cells"] = 0, []
        elif name == _V and parent == _C and st["v"] is None:
            st["text"] = "v"
            text.clear()
        elif name == _IS and parent == _C:
            st["plain"], st["runs"] = "", []
        elif name == _T and parent == _IS:
            st["text"] = "plain"
            text.clear()
        elif name == _R and parent == _IS:
            st["run"] = None
        elif name == _T and parent == _R and len(stack) > 2 and stack[-3] == _IS:
            st["text"] = "run"
            text.clear()

    def chars(data: str) -> None:
        if st["text"]:
            text.append(data)

    def end(name: str) -> None:
        stack.pop()
        parent = stack[-1] if stack else None
        what = st["text"]
        if what and name in (_V, _T):
            st["text"] = None
            if what == "v":
                st["v"] = "".join(text)
            elif what == "plain":
                st["plain"] = "".join(text)
            else:
                st["run"] = "".join(text)
        elif name == _R and parent == _IS:
            if st["run"] is not None:
                st["runs"].append(st["run"])
        elif name == _C and parent == _ROW:
            st["cells"].append(cell())
        elif name == _ROW and st["cells"] is not None:
            done.append((st["row"], st["cells"]))
            st["cells"] = None

    def cell() -> tuple[int, Any]:
        t, coordinate = st["t"], st["r"]
        if coordinate:
            _, st["col"] = coordinate_to_tuple(coordinate)
        else:
            st["col"] += 1
        if t == "inlineStr":
            return st["col"], None if st["runs"] is None else st["plain"] + "".join(st["runs"])
        value = st["v"] or None
        if value is None:
            return st["col"], None
        if t == "n":
            value = _cast_number(value)
            if st["s"] in date_formats:
                try:
                    return st["col"], from_excel(value, epoch, timedelta=st["s"] in timedelta_formats)
                except (OverflowError, ValueError):
                    return st["col"], "#VALUE!"
            return st["col"], value
        if t == "s":
            return st["col"], shared_strings[int(value)]
        if t == "b":
            return st["col"], bool(int(value))
        if t == "d":
            return st["col"], from_ISO8601(value)
        return st["col"], value

    p = expat.ParserCreate(namespace_separator="}")
    p.buffer_text = True
    p.buffer_size = 64 * 1024
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, chars
    p.EntityDeclHandler = _refuse_entities
    p.UnparsedEntityDeclHandler = _refuse_entities
    p.ExternalEntityRefHandler = _refuse_external
    counter = min_row
    while True:
        chunk = source.read(_CHUNK)
        p.Parse(chunk, not chunk)
        for idx, cells in done:
            for _ in range(counter, idx):  # rows the sheet leaves out
                yield counter, ()
                counter += 1
            if counter <= idx:
                if cells:
                    width = cells[-1][0]
                    row: list[Any] = [None] * width
                    for col, value in cells:
                        if 1 <= col <= width:
                            row[col - 1] = value
                    yield idx, tuple(row)
                else:
                    yield idx, ()
                counter += 1
        done.clear()
        if not chunk:
            return


class _OpenpyxlSheet:
    """A sheet of a workbook openpyxl opened read-only, seen as CalamineSheet is (head, merged, rows); its
    rows come from sheet_rows."""

    def __init__(self, path: Path, ws):
        self.path, self.ws, self.title = path, ws, ws.title

    def _rows(self, min_row: int) -> Iterator[tuple[int, tuple[Any, ...]]]:
        wb = self.ws.parent
        with wb._archive.open(self.ws._worksheet_path) as src:
            yield from sheet_rows(src, self.ws._shared_strings, wb._date_formats, wb._timedelta_formats,
                                  wb.epoch, min_row)

    def head(self, max_row: int) -> list[tuple[int, list[Any]]]:
        # <dimension> is never trusted (A1:XFD1048576 would pad every row to 16384 cells), nor read.
        first = []
        for n, cells in self._rows(1):
            if n > max_row:
                break
            if any(c not in (None, "") for c in cells):
                first.append((n, list(cells)))
        return first

    def merged(self) -> list[tuple[int, int, int, int]]:
        return _merged_ranges(self.path, getattr(self.ws, "_worksheet_path", None))

    def rows(self, min_row: int) -> Iterator[tuple[int, list[Any]]]:
        for n, cells in self._rows(min_row):
            yield n, list(cells)

    def release(self) -> None:
        pass


@contextmanager
def _no_dimension_scan():
    """openpyxl's read-only worksheet reads its <dimension> when opened, and when a sheet has none (files
    that tools other than Excel write) it parses the whole sheet for it (150 s of a 1M-row sheet); the
    dimension is not used here, so the scan is skipped while the workbook opens."""
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    get_size = ReadOnlyWorksheet._get_size
    ReadOnlyWorksheet._get_size = lambda self: None
    try:
        yield
    finally:
        ReadOnlyWorksheet._get_size = get_size


def _open_xlsx(path: Path, kind: Kind) -> Table:
    import openpyxl  # with defusedxml installed, openpyxl parses XML through it (no entity expansion)

    # A file object, not the path: openpyxl refuses a path by its extension, and content decides here.
    f = path.open("rb")
    try:
        with _xlsx_errors(path), _no_dimension_scan():
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
