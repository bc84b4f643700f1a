"""The row normaliser of `stic.intake.normalise`, column-wise on a batch of rows, writing COPY text.

A file's rows come in batches; each mapped column of a batch is decided at once with C-level operations
(`map` over str methods, dict look-ups memoised per distinct value, ISO-string comparisons) instead of a
Python function call per cell: plain text, listed codes, ISO dates, amounts and counts of plain digits.
A row any of whose cells the column pass cannot decide for certain (another spelling, a unit in the cell,
a problem, an unlisted code, a spreadsheet number, a row unit column, ...) goes through the per-row
normaliser (`row_normaliser`), which stays the reference: its values, problems and warnings are the ones
recorded. So both ways give the same values and problems; tests/include/test_columnar.py compares them on
the generated and fixture rows. The good rows come out as lines of PostgreSQL's COPY text format (typed by
the server into raw.<kind>), instead of psycopg's per-row `write_row`.

Measured against staging the raw text in PostgreSQL and normalising in SQL: docs/bench-notes/fig1.md.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from stic.contract import codes
from stic.contract.kinds import BOOLEAN, CODE, DATE, INTEGER, MONEY, NUMBER, TEXT, Kind
from stic.intake.header_map import HeaderMap
from stic.intake.normalise import _NULLS, DATE_YEARS, MAX_TEXT, PERIOD_START_FLOOR, Problem, row_normaliser
from stic.intake.values import _text

NULL = "\\N"  # COPY text's NULL; an escaped text value never equals it (its backslash is doubled)
SLOW = "\x00slow"  # a cell the column pass leaves to the row normaliser (no field holds NUL: _text drops it)
_ESCAPES = str.maketrans({"\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r"})
_MUST_ESCAPE = ("\\", "\b", "\t", "\n", "\v", "\f", "\r")
MEMO_SIZE = 8192  # distinct values remembered per code or date column (memory stays flat)
_TEXT_TYPES = frozenset({str, type(None)})
_ZEROS = {Decimal(1): "", Decimal(10_000): "0000", Decimal(100_000_000): "00000000"}


def copy_text(value: Any) -> str:
    """One value as a field of COPY's text format, as psycopg's dumpers write it (str, date, Decimal, int, bool)."""
    if value is None:
        return NULL
    if value.__class__ is str:
        return value.translate(_ESCAPES) if any(c in value for c in _MUST_ESCAPE) else value
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "{" + ",".join(value) + "}"  # row warnings: rule ids, which need no quoting
    return str(value)


def _needs_escape(texts: list[str]) -> bool:
    joined = "".join(texts)
    return any(c in joined for c in _MUST_ESCAPE)


_nfkc = partial(unicodedata.is_normalized, "NFKC")  # called through map: no Python frame per cell


def _plain(cells: Sequence[str]) -> bool:
    """Every cell printable, and ASCII or already NFKC: _text would only strip it.

    Asked of the column's cells joined, one C call each instead of one per cell: a string is printable
    (ASCII) when all its parts are; and NFKC does not act across U+0000, which composes with nothing and
    is a starter (canonical combining class 0), so the parts joined by it are normalised when each is."""
    joined = "".join(cells)
    return joined.isprintable() and (joined.isascii() or _nfkc("\x00".join(cells)))


def _is_null(t: str) -> bool:
    return not t or (len(t) <= 4 and t.lower() in _NULLS)


class BatchNormaliser:
    """normalise(batch of cell lists, row numbers, sheets, prefix) -> BatchResult; see the module docstring.

    `fast=False` sends every row through the per-row normaliser (the reference the tests compare against).
    """

    def __init__(self, kind: Kind, hm: HeaderMap, *, submitter: str | None = None, owner_districts=None,
                 period: str | None = None, fast: bool = True, text_cells: bool = False):
        self.kind, self.fast = kind, fast and hm.unit_position is None  # a unit column: every row its own unit
        self.text_cells = text_cells  # the reader gives only str cells (CSV): no cell's type to check
        self.row = row_normaliser(kind, hm, submitter=submitter, owner_districts=owner_districts, period=period)
        self.names = kind.contract_column_names
        self.columns = [(c, hm.positions.get(c.name)) for c in kind.columns]
        self.derived = len(kind.derived_columns)
        self.types = {c.name: c.type for c in kind.columns}
        self.zeros = {n: _ZEROS.get(unit and _factor(unit)) for n, unit in hm.units.items()}
        self.memo: dict[str, dict[str, str]] = {c.name: {} for c in kind.columns}
        self.own_district = submitter if submitter in codes.codes("district") else None
        self.has_district = "district" in kind.column_names
        self.foreign_keys = frozenset(  # keys of platforms the warehouse places outside the submitter's district
            k for k, v in (owner_districts or {}).items() if v and self.own_district not in v)
        self.period_end = _period_end(kind, period)

    # ---------------------------------------------------------------------------------------- the batch

    def __call__(self, batch: Sequence[list[Any]], row_numbers: Sequence[int], sheets: Sequence[str | None],
                 prefix: str = "") -> BatchResult:
        n = len(batch)
        res = BatchResult()
        if self.fast and n:
            fields, slow = self._columns(batch)
        else:
            fields, slow = [], set(range(n))
        if fields:
            warnings = self._row_rules(fields, slow, n)
        # A line's first field and its sheet are joined into one (the row number, a tab, the sheet), and the
        # derived columns (NULL on a row the column pass decided) with the row's warnings: fewer to join.
        if any(sheets):
            heads = [f"{prefix}{x}\t{copy_text(sh) if sh else ''}" for x, sh in zip(row_numbers, sheets, strict=True)]
        else:
            heads = [f"{prefix}{x}\t" for x in row_numbers]
        if fields:
            derived = NULL + "\t"
            tail = derived * self.derived
            none = tail + "{}"
            tails = [(tail + "{" + ",".join(w) + "}") if w else none for w in warnings]
            res.warned = [(i, w) for i, w in enumerate(warnings) if w and i not in slow]
            rows: list[tuple[str, ...] | None] = list(zip(heads, *fields, tails, strict=True))
        else:
            rows = [None] * n
        for i in sorted(slow):
            values, problems, warns = self.row(batch[i])
            if problems:
                res.quarantined.append((i, problems))
                rows[i] = None
                continue
            rows[i] = (heads[i], *[copy_text(values[c]) for c in self.names], "{" + ",".join(warns) + "}")
            if warns:
                res.warned.append((i, warns))
        if slow:
            res.warned.sort(key=lambda x: x[0])
        if res.quarantined:
            rows = [r for r in rows if r is not None]
        lines = "\n".join(map("\t".join, rows))
        res.loaded = len(rows)
        res.text = lines + "\n" if rows else ""
        return res

    def _columns(self, batch: Sequence[list[Any]]) -> tuple[list[list[str]], set[int]]:
        """The COPY field of every cell of the batch, column by column, and the rows left to the row normaliser."""
        n = len(batch)
        width = min(map(len, batch))
        transposed = list(zip(*batch, strict=False)) if width else []
        fields: list[list[str]] = []
        slow: set[int] = set()
        columns = []
        for col, pos in self.columns:
            texts = False
            if pos is None:
                cells: Sequence[Any] = (None,) * n
            elif pos < width:
                cells = transposed[pos]
                texts = self.text_cells
            else:
                cells = [r[pos] if pos < len(r) else None for r in batch]
            if not texts and not set(map(type, cells)) <= _TEXT_TYPES:  # a spreadsheet's typed cells: row normaliser
                slow.update(i for i, c in enumerate(cells) if c is not None and c.__class__ is not str)
            columns.append((col, cells, texts))
        if len(slow) == n:
            return [], slow  # every row has one (a workbook with numbers and dates): no column pass at all
        for col, cells, texts in columns:
            f = self._column(col, cells, texts)
            if SLOW in f:
                slow.update(i for i, v in enumerate(f) if v is SLOW or v == SLOW)
            fields.append(f)
        return fields, slow

    def _column(self, col, cells: Sequence[Any], texts_only: bool = False) -> list[str]:
        if texts_only or set(map(type, cells)) == {str}:
            if _plain(cells):
                texts = list(map(str.strip, cells))  # what _text returns for such cells
            else:
                texts = list(map(_text, cells))
            out = _convert(col, texts, self.memo[col.name], self.zeros.get(col.name))
        else:
            # None (a short row) is an empty cell; any other type (a spreadsheet's number, date) is left to
            # the row normaliser, whose converters read the typed value itself.
            texts = ["" if c is None else (_text(c) if c.__class__ is str else "\x00") for c in cells]
            out = _convert(col, texts, self.memo[col.name], self.zeros.get(col.name))
            out = [SLOW if t == "\x00" else f for f, t in zip(out, texts, strict=True)]
        if col.required and NULL in out:
            out = [SLOW if f == NULL else f for f in out]
        return out

    def _row_rules(self, fields: list[list[str]], slow: set[int], n: int) -> list[list[str]]:
        """Rules across a row's columns (normalise.row_normaliser), column-wise; rows that would break one go
        to the row normaliser for their problem; returns each row's warnings (for the rows not slow)."""
        index = {c.name: j for j, (c, _) in enumerate(self.columns)}
        for _rule, earlier, later in self.kind.order_rules:
            a, b = fields[index[earlier]], fields[index[later]]
            if self.types[earlier] == DATE and self.types[later] == DATE:  # ISO strings order as dates do
                slow.update(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x > y and x != NULL and y != NULL)
            else:
                slow.update(range(n))
        if self.own_district is not None:
            if self.has_district:
                own = self.own_district
                slow.update(i for i, d in enumerate(fields[index["district"]]) if d != own and d != NULL)
            elif self.foreign_keys:
                keys = fields[index[self.kind.key]]
                slow.update(i for i, k in enumerate(keys) if k in self.foreign_keys or "\\" in k)
        empty: list[str] = []
        if self.period_end is None:
            return [empty] * n
        status_col, done, checked, late, firsts, end = self.period_end
        status, when = fields[index[status_col]], fields[index[checked]]
        starts = [fields[index[c]] for c in firsts]
        floor = PERIOD_START_FLOOR.isoformat()
        late_rows = [st == done and w != NULL and w > end for st, w in zip(status, when, strict=True)]
        if len(starts) == 1:
            firsts_ = starts[0]
        else:
            firsts_ = [next((x for x in xs if x != NULL), NULL) for xs in zip(*starts, strict=True)]
        early_rows = [x != NULL and x < floor for x in firsts_]
        both = [late, "start_before_floor"]
        out = [(both if e else [late]) if lt else (["start_before_floor"] if e else empty)
               for lt, e in zip(late_rows, early_rows, strict=True)]
        return out


def _convert(col, texts: list[str], memo: dict[str, str], zeros: str | None) -> list[str]:
    """The COPY field of each cell text of a column, or SLOW."""
    t = col.type
    if t == TEXT:
        if min(map(len, texts)) > 4 and max(map(len, texts)) <= MAX_TEXT:
            out = texts  # no cell short enough to be empty or a placeholder such as n/a, none too long
        else:
            out = [NULL if _is_null(x) else (x if len(x) <= MAX_TEXT else SLOW) for x in texts]
        if _needs_escape(texts):
            out = [f if f == NULL or f == SLOW else f.translate(_ESCAPES) for f in out]
        return out
    if t in (CODE, BOOLEAN, DATE):
        out = list(map(memo.get, texts))
        if None in out:
            decide = _code if t != DATE else _date
            for i, f in enumerate(out):
                if f is None:
                    x = texts[i]
                    f = out[i] = NULL if _is_null(x) else decide(col, x)
                    if len(memo) < MEMO_SIZE:
                        memo[x] = f
        return out
    if t == MONEY:
        if zeros is None:  # no unit in the header (or the row's unit column): the row normaliser decides
            return [NULL if _is_null(x) else SLOW for x in texts]
        most = 18 - len(zeros)  # digits below 10^18 yuan, numeric(20,2)
        tail = zeros + ".00"
        given = list(filter(None, texts))
        digits = "".join(given)  # digits all, and ASCII, when each cell is (one C call, not one per cell)
        if not given or (digits.isdigit() and digits.isascii() and max(map(len, given)) <= most):
            # plain digits or empty cells: the amount is the digits times the header's unit
            return [(s + tail if (s := x.lstrip("0")) else "0.00") if x else NULL for x in texts]
        return [((s + tail if s else "0.00") if len(s := x.lstrip("0")) <= most else SLOW)
                if x.isdigit() and x.isascii() else (NULL if _is_null(x) else SLOW) for x in texts]
    if t in (NUMBER, INTEGER):
        year, places = col.name == "assessment_year", ("" if t == INTEGER else ".0000")  # numeric(20,4)
        return [((s or "0") + places if len(s := x.lstrip("0")) <= 15 and (not year or 2014 <= int(x) <= 2030)
                 else SLOW) if x.isdigit() and x.isascii() else (NULL if _is_null(x) else SLOW) for x in texts]
    return [NULL if _is_null(x) else SLOW for x in texts]  # shares, code lists: the row normaliser


def _code(col, text: str) -> str:
    try:
        code = codes.resolve(col.codelist, text)
    except codes.CodeError:
        return SLOW  # a problem, or an unlisted classifying code (published as other): the row normaliser
    if col.type == BOOLEAN:
        return "t" if code == "true" else "f"
    return code


class BatchResult:
    """A batch's COPY lines of good rows, their count, and by row index the problems and warnings to record."""

    __slots__ = ("loaded", "quarantined", "text", "warned")

    def __init__(self) -> None:
        self.text = ""
        self.loaded = 0
        self.quarantined: list[tuple[int, list[Problem]]] = []
        self.warned: list[tuple[int, list[str]]] = []


def _date(col, text: str) -> str:
    """The ISO field of an ISO date the row normaliser takes as it is; SLOW for any other cell."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            d = dt.date.fromisoformat(text)
        except ValueError:
            return SLOW
        if DATE_YEARS[0] <= d.year <= DATE_YEARS[1]:
            return d.isoformat()
    return SLOW


def _factor(unit: str) -> Decimal | None:
    from stic.intake.values import UNIT_FACTORS

    return UNIT_FACTORS.get(unit)


def _period_end(kind: Kind, period: str | None):
    """(status column, done status, checked date column, warning, first-date columns, period end as ISO text)
    of normalise._period_checks, or None when the kind or period has no such checks."""
    if not period or kind.name not in ("projects", "facilities"):
        return None
    from stic.contract.kinds import period_end

    try:
        end = period_end(period)
    except (AttributeError, TypeError, ValueError):
        return None
    if kind.name == "projects":
        return "status", "completed", "end_date", "completed_end_after_period", ("start_date",), end.isoformat()
    return ("status", "in_operation", "operation_start_date", "operation_start_after_period",
            ("construction_start_date", "operation_start_date"), end.isoformat())
