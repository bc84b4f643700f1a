"""A workbook read sheet by sheet (calamine, or the openpyxl stream of stic.intake.readers.xlsx): each sheet's
header found, merged cells filled, later sheets' columns matched to the first sheet's by name."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stic.contract.kinds import MONEY, Kind
from stic.intake.header_map import map_headers
from stic.intake.readers.layout import (
    HEADER_SCAN_ROWS,
    _apply_title_unit,
    _pick_header,
    _skipped,
    _title_unit,
    layout_row_reason,
)
from stic.intake.readers.table import MAX_MERGED_RANGES, FileRejected, Table


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
