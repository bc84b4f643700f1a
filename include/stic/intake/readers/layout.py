"""The layout of a submitted form around its data: title lines, a unit line, the header row (of one to three
levels, flattened parent first), and the total and signature/notes rows that are skipped, not read as data."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from stic.contract.kinds import MONEY, Kind
from stic.intake.header_map import map_headers, score_header
from stic.intake.readers.table import FileRejected

HEADER_SCAN_ROWS = 30
HEADER_SCAN_CELLS = 500  # a "header" wider than this is not one
_UNIT_LINE = re.compile(r"^\s*(?:单位|金额单位|计量单位|units?)\s*[:：]\s*(?P<unit>\S.*?)\s*$", re.IGNORECASE)


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
    first = cells[0] if cells else None
    if first.__class__ is str and first and not first.isspace() and first.isascii():
        # The common row: an ASCII label in the first cell without a label word is data, whatever its key
        # (the checks below would return None too; profiled: this ran on every row of every file).
        compact = "".join(first.split()).lower()
        if not ("total" in compact or "note" in compact or "contact" in compact or "preparedby" in compact):
            return None  # _ASCII_LABEL_WORDS, spelt out
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
        first = cells[0] if cells else None
        if first.__class__ is str and first and first.isascii() and not first.isspace():
            # layout_row_reason's first test, inline (a call per row was a tenth of reading a CSV); a label
            # word starts with t, n, c or p, so a cell without them (a code such as I-000123) is data at once
            low = first.lower()
            compact = "" if not ("t" in low or "n" in low or "c" in low or "p" in low) else "".join(low.split())
            if not ("total" in compact or "note" in compact or "contact" in compact or "preparedby" in compact):
                yield n, sheet, cells
                continue
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
