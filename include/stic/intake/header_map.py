"""Which cell of a file holds which canonical column, and in which unit its amounts are: a file's headers
mapped through aliases, units in the header, submitter profiles and the header vocabulary."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from stic.contract import codes
from stic.contract.kinds import MONEY, Kind
from stic.intake.values import UNIT_FACTORS

UNIT_HEADERS = {codes.fold(h) for h in ("unit", "units", "amount unit", "currency unit", "money unit", "单位", "金额单位", "计量单位")}
_UNIT_IN_HEADER = re.compile(r"[(\[](?P<unit>[^()\[\]]+)[)\]]\s*$")
_UNIT_LABEL = re.compile(r"^\s*(?:单位|金额单位|计量单位|units?|currency)\s*[:=]?\s*", re.IGNORECASE)
_UNIT_SUFFIXES = ("亿元", "万元", "元")  # a header such as 总投资万元 or 总投资/万元 (no parentheses)


@dataclass
class HeaderMap:
    """Where each canonical column sits in a file, and in which unit its amounts are."""

    positions: dict[str, int]  # canonical column -> cell index
    units: dict[str, str]  # money column -> unit code told by the header
    unit_position: int | None  # index of a unit column, if the file has one
    ignored: list[str] = field(default_factory=list)  # headers that map to nothing
    missing: list[str] = field(default_factory=list)  # required columns not found
    problems: list[str] = field(default_factory=list)  # file-level problems (ambiguous headers, no unit)
    # One per mapped column, in file order: {header, column, unit, factor, via} (shown by `stic check`, receipts).
    mapping: list[dict] = field(default_factory=list)
    ignored_positions: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.problems


def _clean_header(h: Any) -> str:
    return unicodedata.normalize("NFKC", "" if h is None else str(h)).replace("\ufeff", "").strip()


@cache
def header_aliases(kind: Kind) -> dict[str, str]:
    out = {}
    for col in kind.columns:
        for alias in (col.name, col.name.replace("_yuan", ""), *col.aliases):
            out.setdefault(codes.fold(alias), col.name)
    return out


def split_header(h: Any, kind: Kind | None = None) -> tuple[str, str | None]:
    """(header without its unit, unit code or None): 金额（万元）, Amount (10k yuan), 总投资(单位：万元), 总投资万元."""
    text = _clean_header(h)
    m = _UNIT_IN_HEADER.search(text)
    if m:
        try:
            return text[: m.start()].strip(), codes.resolve("unit", _UNIT_LABEL.sub("", m["unit"]))
        except codes.CodeError:
            pass  # parentheses that are not a unit stay part of the name
    if kind is not None:
        aliases = header_aliases(kind)
        if codes.fold(text) not in aliases:
            for suffix in _UNIT_SUFFIXES:
                base = text[: -len(suffix)].rstrip(" /／_-:")
                if text.endswith(suffix) and base and codes.fold(base) in aliases:
                    col = kind.column(aliases[codes.fold(base)])
                    if col.type == MONEY:
                        return base, codes.resolve("unit", suffix)
    return text, None


# A cell of digits, dates, codes and punctuation only (12.5, 2018-01-01, P-001): no header, not worth reading by parts.
_NOT_A_HEADER = re.compile(r"^[\d\s.,:/+\-_()%¥A-Z]*$")


def score_header(kind: Kind, cells: list[Any]) -> int:
    """How many cells of a row are headers of this kind (used to find the header row below title rows)."""
    from stic.contract import headers as vocab

    aliases = header_aliases(kind)
    n = 0
    for cell in cells:
        if cell is None or (isinstance(cell, str) and len(cell) > 200):
            continue
        h = _clean_header(cell)
        if not h:
            continue
        m = _UNIT_IN_HEADER.search(h)
        if m:
            h = h[: m.start()]
        if codes.fold(h) in aliases or codes.fold(split_header(h, kind)[0]) in aliases:
            n += 1
        elif isinstance(cell, str) and len(h) <= 60 and not _NOT_A_HEADER.match(h) and (
                vocab.match(kind, cell).column or vocab.last_level_alias(aliases, h)):
            n += 1  # 资金来源（万元）-中央财政, Central gov. funding (10k yuan): recognised by their parts
    return n


def map_headers(kind: Kind, headers: list[Any], *, submitter: str | None = None) -> HeaderMap:
    """Which cell holds which column, and the unit of each amount column.

    In this order: the submitter's profile (reference/profiles/<SUBMITTER>.yml), the exact aliases of
    kinds.py, the header read as parts through reference/header_vocabulary.yml (stic.contract.headers), and last
    the exact alias of a flattened header's last level (基本信息-项目编号).
    """
    from stic.contract import headers as vocab

    aliases = header_aliases(kind)
    hm = HeaderMap(positions={}, units={}, unit_position=None)
    for i, raw in enumerate(headers):
        h = _clean_header(raw)
        if not h:
            continue
        base, unit = split_header(h, kind)
        key = codes.fold(base)
        if key in UNIT_HEADERS:
            hm.unit_position = i
            continue
        reading = vocab.read(h) if len(h) <= 200 else None
        entry = vocab.profile_entry(submitter, kind, h, base)
        via = "alias"
        if entry is not None:
            col, via = entry.column, f"profile {submitter.upper()}"
            unit = unit or (reading.unit if reading else None) or entry.unit
        else:
            col = aliases.get(key)
            if col is None and reading is not None:
                found = vocab.match(kind, h)
                if found.tied:
                    hm.problems.append(
                        f"header {str(raw).strip()!r} could be any of {', '.join(found.tied)}: rename it to say "
                        f"which, or ask the data stewards for a profile of your office's headers; the warehouse "
                        f"does not guess"
                    )
                    continue
                col, via = found.column, "vocabulary"
                if col is None:
                    col, via = vocab.last_level_alias(aliases, h), "alias (last level)"
        if col is None:
            hm.ignored.append(h)
            hm.ignored_positions.append(i)
            continue
        if col in hm.positions:
            hm.problems.append(
                f"column {col!r} appears twice (headers {headers[hm.positions[col]]!r} and {raw!r}); keep one"
            )
            continue
        hm.positions[col] = i
        if kind.column(col).type == MONEY:
            if unit is None and key.endswith("yuan"):
                unit = "yuan"  # the canonical header "…_yuan" names its unit
            if unit is None and reading is not None:
                if len(reading.units) > 1:
                    hm.problems.append(f"header {h!r} states two units ({', '.join(reading.units)}); keep one")
                unit = reading.unit
            if reading is not None and reading.unsupported_units and unit is None:
                hm.problems.append(
                    f"header {h!r} states its amounts in {', '.join(reading.unsupported_units)}: the warehouse "
                    f"converts 元, 万元 and 亿元 only; convert the column to one of them and say so in the header"
                )
            if unit is not None:
                hm.units[col] = unit
        hm.mapping.append({"header": str(raw).strip(), "column": col, "unit": hm.units.get(col),
                           "factor": str(UNIT_FACTORS[hm.units[col]]) if col in hm.units else None, "via": via})
    hm.missing = [c.name for c in kind.columns if c.required and c.name not in hm.positions]
    for col, _pos in hm.positions.items():
        if kind.column(col).type == MONEY and col not in hm.units and hm.unit_position is None:
            hm.problems.append(
                f"amount column {headers[hm.positions[col]]!r} states no unit: put it in the header "
                f"(e.g. 金额（万元）) or add a unit column (单位: 元 / 万元 / 亿元); the warehouse never guesses a unit"
            )
    if hm.unit_position is not None:
        for m in hm.mapping:
            if kind.column(m["column"]).type == MONEY and m["unit"] is None:
                m["unit"] = f"per row, from column {_clean_header(headers[hm.unit_position])!r}"
    return hm
