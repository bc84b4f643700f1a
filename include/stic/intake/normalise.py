"""Turn submitted cells into typed, canonical values, and apply the row rules of DOMAIN.md.

Headers are mapped to canonical columns (English or Chinese aliases, units in parentheses);
cells are parsed as the column's type (full-width digits, thousands separators, 万元/亿元);
every problem is a `Problem` naming the column, the value and the rule, never an exception.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from stic.contract import codes
from stic.contract.kinds import (
    BOOLEAN,
    CODE,
    CODES,
    DATE,
    INTEGER,
    MONEY,
    NUMBER,
    OPEN_CODELISTS,
    SHARE,
    TEXT,
    Kind,
)

UNIT_FACTORS = {"yuan": Decimal(1), "wan_yuan": Decimal(10_000), "yi_yuan": Decimal(100_000_000)}
UNIT_HEADERS = {codes.fold(h) for h in ("unit", "units", "amount unit", "currency unit", "money unit", "单位", "金额单位", "计量单位")}
# The award floor (DOMAIN.md, Rules, corrected): on a transfer or licence by a university or research institute,
# at least 70 % of the net revenue goes to the inventors and their team.
AWARD_SHARE_FLOOR = Decimal("0.7")
# Earlier start dates are far before the programme (2014; the oldest real facilities date from the 2000s);
# the same floor as dbt's var period_start_floor in rpt_period_consistency.
PERIOD_START_FLOOR = dt.date(2000, 1, 1)
AWARD_FLOOR_TRANSACTIONS = frozenset({"transfer", "license"})
AWARD_FLOOR_SELLERS = frozenset({"university", "research_institute"})
MAX_TEXT = 2000  # a longer cell is a pasted file, not a name

_UNIT_IN_HEADER = re.compile(r"[(\[](?P<unit>[^()\[\]]+)[)\]]\s*$")
_UNIT_LABEL = re.compile(r"^\s*(?:单位|金额单位|计量单位|units?|currency)\s*[:=]?\s*", re.IGNORECASE)
_UNIT_SUFFIXES = ("亿元", "万元", "元")  # a header such as 总投资万元 or 总投资/万元 (no parentheses)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")  # thousands separators in their right places
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # PostgreSQL text cannot hold NUL
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_MONEY = Decimal(10) ** 18  # numeric(20,2)
MAX_NUMBER = Decimal(10) ** 16  # numeric(20,4); bigint is larger
# A written number whose decimal exponent is outside this range cannot be an amount, count or share the
# warehouse holds (the largest, 10^18 yuan, is 10^10 亿元). Refusing it before any arithmetic keeps
# decimal.Overflow / InvalidOperation (e.g. "1e1000000" times 10^4, or quantize) out of the parsers.
MAX_EXPONENT = 20
_NUMBER_PLACES = Decimal("0.0001")  # numeric(20,4): rounded here, so the bound is checked on what is stored
DATE_YEARS = (1900, 2100)  # a date outside these years is a typo (0218 for 2018), not a fact of this warehouse
EXCEL_SERIAL_DATES = (20_000, 80_000)  # 1954..2119: a spreadsheet date stored as its day number
_DATE_PATTERNS = (
    re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:[ T]\d{1,2}:\d{2}(:\d{2})?)?$"),
    re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日?$"),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"),
)
CRITICAL, WARNING = "critical", "warning"

# The rules, in words an auditor understands. Rule ids appear in audit.rejected_rows and in receipts.
RULES: dict[str, tuple[str, str]] = {
    "required": (CRITICAL, "A required field is empty."),
    "code_list": (CRITICAL, "The value is not in the field's code list."),
    "code_unlisted": (WARNING, "A field, institution type or seller type is not in its code list: published as "
                               "'other', the submitted text kept for the data stewards (rpt_unmapped_codes)."),
    "district_mismatch": (CRITICAL, "A district reports only its own district's rows; a row booked to another "
                                    "district is accepted only when it names the submitter in joint_with."),
    "date_parse": (CRITICAL, "The value is not a date (expected e.g. 2018-06-30 or 2018年6月30日)."),
    "date_range": (CRITICAL, f"The date is before {DATE_YEARS[0]} or after {DATE_YEARS[1]}."),
    "number_parse": (CRITICAL, "The value is not a number the warehouse can hold (amounts below 10^18 yuan, "
                               "other figures below 10^16)."),
    "unit_unknown": (CRITICAL, "The amount's unit is not 元, 万元 or 亿元."),
    "amount_non_negative": (CRITICAL, "Amounts and counts must not be negative."),
    "share_range": (CRITICAL, "The inventors' award share must be between 0 and 1 (2019 briefing: up to 70 percent is the norm)."),
    "year_range": (CRITICAL, "The year is outside 2014–2030."),
    "text_too_long": (CRITICAL, f"A text field is longer than {MAX_TEXT} characters."),
    "start_before_end": (CRITICAL, "A project must not end before it starts."),
    "construction_before_operation": (CRITICAL, "A facility must not start operating before its construction starts."),
    "listing_before_deal": (CRITICAL, "A deal cannot be made before the listing date."),
    "duplicate_key": (CRITICAL, "The same code appears more than once in one submission; only the first row is kept."),
    "completed_end_after_period": (WARNING, "A project reported as completed ends after the reporting period; "
                                  "check the end date or the status."),
    "operation_start_after_period": (WARNING, "A facility reported as in operation starts operating only after "
                                     "the reporting period; check the date or the status."),
    "start_before_floor": (WARNING, "A start date before 2000, far before the programme began (2014); check it."),
    "award_share_below_floor": (WARNING, "On a transfer or licence by a university or research institute, at least 70 "
                                "percent of the net revenue is awarded to the inventors and their team (Rules for the "
                                "Promotion of Transfer of S&T Achievements, 2017); this share is below that floor."),
}


@dataclass
class Problem:
    column: str | None
    value: str | None
    rule: str
    message: str

    @property
    def severity(self) -> str:
        return RULES[self.rule][0]


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


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value.isprintable() and (value.isascii() or unicodedata.is_normalized("NFKC", value)):
        # The common cases (ASCII, or Chinese text already in NFKC form): NFKC and the control-character
        # regex cannot change a printable, normalised string (profiled: 3x).
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and value.bit_length() > 14_000:
        # str() refuses integers past 4,300 digits; the number converters refuse it as too large anyway
        return f"{'-' if value < 0 else ''}an integer of about {int(value.bit_length() * 0.30103)} digits"
    return _CONTROL.sub("", unicodedata.normalize("NFKC", str(value))).strip()


def neutralise_formula(value: Any) -> str:
    """The text to write into a CSV/XLSX the project hands out, so that a spreadsheet shows it, never runs it.

    A value starting with = + - @ (or a tab or carriage return) is a formula to Excel and LibreOffice
    ("=HYPERLINK(...)", "@SUM(...)"); prefixing a single quote makes it text. Numbers are written as they are.
    The warehouse itself stores submitted values unchanged: this is for files written back out only.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return str(value)
    s = str(value)
    return "'" + s if s.startswith(_FORMULA_START) else s


def parse_decimal(value: Any) -> Decimal:
    """A Decimal from a cell: full-width digits, thousands separators, spaces; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, int | Decimal):
        d = Decimal(value)
    elif isinstance(value, float):
        d = Decimal(repr(value))
    else:
        s = _text(value).replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
        if s.startswith("¥"):
            s = s[1:]
        if "," in s:
            if not _GROUPED.match(s):  # "12,5" may be a decimal comma: never read it as 125
                raise ValueError(s)
            s = s.replace(",", "")
        if not _NUMBER.match(s):
            raise ValueError(s)
        try:
            d = Decimal(s)
        except InvalidOperation as e:
            raise ValueError(s) from e
    if not d.is_finite():
        raise ValueError(str(value))
    if not d:
        return Decimal(0)  # 0E+999999999 is zero: without its exponent it cannot overflow later
    if not -MAX_EXPONENT <= d.adjusted() <= MAX_EXPONENT:
        raise ValueError(str(value))
    return d


def parse_money(value: Any, unit: str | None) -> tuple[Decimal, str]:
    """(yuan, unit used). A unit written in the cell itself (e.g. '12.5万元') wins over the header's."""
    s = _text(value)
    for suffix, code in (("亿元", "yi_yuan"), ("万元", "wan_yuan"), ("元", "yuan"), ("亿", "yi_yuan"), ("万", "wan_yuan")):
        if s.endswith(suffix):
            s, unit = s[: -len(suffix)], code
            break
    if unit is None:
        raise LookupError("no unit")
    amount = parse_decimal(s) * UNIT_FACTORS[unit]
    if abs(amount) >= MAX_MONEY:  # before rounding: quantize of 10^28 to cents is itself an InvalidOperation
        raise ValueError(s)
    amount = amount.quantize(_CENT)
    if abs(amount) >= MAX_MONEY:  # and after: 999999999999999999.999 rounds to 10^18, beyond numeric(20,2)
        raise ValueError(s)
    return amount, unit


def parse_date(value: Any) -> dt.date:
    """A date from a cell (ISO, 2018/6/30, 2018年6月30日, 20180630, an Excel day number); ValueError otherwise.

    The year is not checked here: the row normaliser does (rule date_range), so a typo year gets its own rule.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        lo, hi = EXCEL_SERIAL_DATES
        if lo <= value < hi and float(value).is_integer():
            return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
    s = _text(value)
    if len(s) == 10 and s[4] == "-" and s[7] == "-":
        try:
            return dt.date.fromisoformat(s)  # the common case, without three regexes
        except ValueError:
            pass
    for pat in _DATE_PATTERNS:
        m = pat.match(s)
        if m:
            return dt.date(int(m["y"]), int(m["m"]), int(m["d"]))
    raise ValueError(s)


def parse_share(value: Any) -> Decimal:
    s = _text(value)
    if s.endswith("%"):
        return parse_decimal(s[:-1]) / 100
    return parse_decimal(s)


_NULLS = frozenset({"null", "none", "n/a", "-", "—", "无"})  # all at most 4 characters long
_SKIP = object()  # a converter found a problem (already recorded): the column gets no value
_CENT = Decimal("0.01")


def normalise_row(kind: Kind, hm: HeaderMap, cells: list[Any], *, submitter: str | None = None,
                  owner_districts=None, period: str | None = None) -> tuple[dict[str, Any], list[Problem], list[str]]:
    """(values by canonical column, problems, warning rule ids) for one row of cells."""
    return row_normaliser(kind, hm, submitter=submitter, owner_districts=owner_districts, period=period)(cells)


_JOINT_SEPARATORS = re.compile(r"[,;，；、/|]+")


def row_normaliser(kind: Kind, hm: HeaderMap, *, submitter: str | None = None, owner_districts=None,
                   period: str | None = None):
    """`normalise_row` for one file, compiled once: a converter per column, chosen by its type and unit.

    Loaders call this once per file and the returned function once per row. The converters take a short
    path for the common cell (ASCII text, an ISO date, an amount of plain digits) and otherwise call the
    general parsers above, so both paths give the same values and the same problems (profiled: per-cell
    type dispatch and repeated `_text` calls were most of the load time; tests/include/test_normalise.py
    checks the short paths against the general parsers).
    """
    plan = [(col.name, hm.positions.get(col.name), col.required, _converter(col, hm),
             col.type == CODE and col.codelist in OPEN_CODELISTS) for col in kind.columns]
    derived = [c.name for c in kind.derived_columns]
    unit_position = hm.unit_position
    order_rules = kind.order_rules
    award_floor = "inventor_award_share" in kind.column_names
    period_checks = _period_checks(kind, period)
    # Who may report what: a district only its own district's rows (DOMAIN.md, Rules); agencies anything.
    own_district = submitter if submitter in codes.codes("district") else None
    has_district = "district" in kind.column_names
    has_joint = "joint_with" in kind.column_names

    def normalise(cells: list[Any]) -> tuple[dict[str, Any], list[Problem], list[str]]:
        values: dict[str, Any] = dict.fromkeys(derived)
        problems: list[Problem] = []
        warnings: list[str] = []
        n = len(cells)
        row_unit = None
        if unit_position is not None and unit_position < n:
            unit_cell = _text(cells[unit_position])
            if unit_cell:
                try:
                    row_unit = codes.resolve("unit", unit_cell)
                except codes.CodeError:
                    problems.append(Problem("unit", unit_cell, "unit_unknown", f"unit {unit_cell!r} is not 元, 万元 or 亿元"))
        for name, pos, required, convert, is_open in plan:
            raw = cells[pos] if pos is not None and pos < n else None
            if raw.__class__ is str and raw.isascii() and raw.isprintable():
                text = raw.strip()  # what _text returns for such a cell
            else:
                text = _text(raw)
            if not text or (len(text) <= 4 and text.lower() in _NULLS):
                values[name] = None
                if required:
                    problems.append(Problem(name, text, "required", f"{name} is required but empty"))
                continue
            try:
                value = convert(raw, text, row_unit, problems, warnings)
            except codes.CodeError as e:
                if is_open:
                    # a classifying code the list does not know yet: counted as other, the text kept for the stewards
                    values[name], values[name + "_submitted"] = "other", text
                    if "code_unlisted" not in warnings:
                        warnings.append("code_unlisted")
                    continue
                problems.append(Problem(name, text[:200], "code_list", str(e)))
                continue
            except (ValueError, ArithmeticError):
                # ArithmeticError: any decimal signal a bound above missed is still this row's problem, not a crash
                problems.append(Problem(name, text[:80], "number_parse",
                                        f"{name} {text[:80]!r} is not a number the warehouse can hold"))
                continue
            if value is not _SKIP:
                values[name] = value
        for rule, earlier, later in order_rules:
            a, b = values.get(earlier), values.get(later)
            if a is not None and b is not None and a > b:
                problems.append(Problem(later, f"{a} > {b}", rule, f"{earlier} {a} is after {later} {b}"))
        if own_district is not None:
            _check_district(values, problems)
        if award_floor and not problems and _below_award_floor(values):
            warnings.append("award_share_below_floor")
        if period_checks and not problems:
            warnings.extend(period_checks(values))
        return values, problems, warnings

    def _check_district(values, problems):
        if has_district:
            booked = values.get("district")
            if booked is None or booked == own_district:
                return
            partners = (values.get("joint_with") or "").split(",") if has_joint else []
            if own_district in partners or any(p.column == "joint_with" for p in problems):
                return  # a joint project, or a joint_with already quarantined for its own reason
            problems.append(Problem("district", booked, "district_mismatch", (
                f"the row is booked to district {booked}, but {own_district} may report only its own district's rows: "
                f"let {booked} report it" + (f", or name {own_district} in joint_with if it is a joint project"
                                             if has_joint else "")
            )))
        elif owner_districts:
            code = values.get(kind.key)
            known = owner_districts.get(code)
            if known and own_district not in known:
                problems.append(Problem(kind.key, code, "district_mismatch", (
                    f"platform {code} is in district {', '.join(sorted(known))} (published facility records), "
                    f"but {own_district} may report only its own district's platforms"
                )))

    return normalise


def _period_checks(kind: Kind, period: str | None):
    """The reporting-period warnings of a row (marts.rpt_period_consistency lists the published ones):
    a completed project ending after its period, a facility in operation only after it, and a start date
    before PERIOD_START_FLOOR (far before the programme). None for a kind or period without such checks."""
    if not period or kind.name not in ("projects", "facilities"):
        return None
    from stic.contract.kinds import period_end

    try:
        end = period_end(period)
    except (AttributeError, TypeError, ValueError):
        return None  # not a period the ledger accepts; the submission rule says so
    if kind.name == "projects":
        status, checked, late, firsts = "status", "end_date", "completed_end_after_period", ("start_date",)
        done = "completed"
    else:
        status, checked, late, firsts = "status", "operation_start_date", "operation_start_after_period", (
            "construction_start_date", "operation_start_date")
        done = "in_operation"

    def checks(values: dict[str, Any]) -> list[str]:
        out = []
        d = values.get(checked)
        if values.get(status) == done and d is not None and d > end:
            out.append(late)
        first = next((values[c] for c in firsts if values.get(c) is not None), None)
        if first is not None and first < PERIOD_START_FLOOR:
            out.append("start_before_floor")
        return out

    return checks


def _below_award_floor(values: dict[str, Any]) -> bool:
    """A transfer or licence by a university or research institute awarding its inventors less than 70 %."""
    share = values.get("inventor_award_share")
    return (share is not None and share < AWARD_SHARE_FLOOR
            and values.get("transaction_type") in AWARD_FLOOR_TRANSACTIONS
            and values.get("seller_type") in AWARD_FLOOR_SELLERS)


def _plain_digits(raw: Any, text: str) -> bool:
    """A submitted string of ASCII digits only: Decimal(text) is exactly what parse_decimal would return."""
    return raw.__class__ is str and text.isdigit() and text.isascii()


def _converter(col, hm: HeaderMap):
    """convert(raw, text, row_unit, problems, warnings) -> value, or _SKIP after recording a problem.

    Raises codes.CodeError or ValueError for the loop to record as code_list / number_parse.
    """
    name = col.name
    if col.type == TEXT:
        def text_value(raw, text, row_unit, problems, warnings):
            if len(text) > MAX_TEXT:
                problems.append(Problem(name, text[:80] + "…", "text_too_long", f"{name} is {len(text)} characters long"))
                return _SKIP
            return text
        return text_value
    if col.type == CODE or col.type == BOOLEAN:
        codelist, boolean, seen = col.codelist, col.type == BOOLEAN, {}

        def code_value(raw, text, row_unit, problems, warnings):
            code = seen.get(text)
            if code is None:
                code = codes.resolve(codelist, text)  # CodeError for a value outside the list
                if len(seen) < 4096:
                    seen[text] = code
            return (code == "true") if boolean else code
        return code_value
    if col.type == CODES:
        codelist = col.codelist

        def codes_value(raw, text, row_unit, problems, warnings):
            parts = [p.strip() for p in _JOINT_SEPARATORS.split(text) if p.strip()]
            return ",".join(sorted({codes.resolve(codelist, p) for p in parts})) or None  # CodeError names the part
        return codes_value
    if col.type == DATE:
        def date_value(raw, text, row_unit, problems, warnings):
            date = None
            if raw.__class__ is str and len(text) == 10 and text[4] == "-" and text[7] == "-":
                try:
                    date = dt.date.fromisoformat(text)
                except ValueError:
                    pass
            if date is None:
                try:
                    date = parse_date(raw)
                except (ValueError, OverflowError):
                    problems.append(Problem(name, text[:80], "date_parse", f"{name} {text[:80]!r} is not a date"))
                    return _SKIP
            if not DATE_YEARS[0] <= date.year <= DATE_YEARS[1]:
                problems.append(Problem(name, text[:80], "date_range",
                                        f"{name} {text[:80]!r} is outside the years {DATE_YEARS[0]}–{DATE_YEARS[1]}"))
                return _SKIP
            return date
        return date_value
    if col.type == MONEY:
        header_unit = hm.units.get(name)
        has_header_unit = name in hm.units

        def money_value(raw, text, row_unit, problems, warnings):
            unit = header_unit if has_header_unit else row_unit
            if unit is not None and _plain_digits(raw, text):
                if len(text.lstrip("0")) > 19:  # at least 10^18 yuan whatever the unit; no arithmetic on a huge integer
                    raise ValueError(text)
                amount = (Decimal(text) * UNIT_FACTORS[unit]).quantize(_CENT)
                if amount >= MAX_MONEY:
                    raise ValueError(text)
                return amount
            try:
                amount, _ = parse_money(raw, unit)
            except LookupError:
                problems.append(Problem(name, text, "unit_unknown", f"{name} {text!r} has no unit"))
                return _SKIP
            if amount < 0:
                problems.append(Problem(name, text, "amount_non_negative", f"{name} {text!r} is negative"))
                return _SKIP
            return amount
        return money_value
    if col.type in (NUMBER, INTEGER):
        integer, year = col.type == INTEGER, name == "assessment_year"

        def number_value(raw, text, row_unit, problems, warnings):
            if _plain_digits(raw, text):
                if len(text.lstrip("0")) > 17:  # at least 10^16: no arithmetic on a huge integer
                    raise ValueError(text)
                n = Decimal(text)
            else:
                n = parse_decimal(raw)
            if integer:
                if n != n.to_integral_value():
                    raise ValueError(text)
                if abs(n) >= MAX_NUMBER:
                    raise ValueError(text)
                n = int(n)
            else:
                n = n.quantize(_NUMBER_PLACES)  # after rounding: 9999999999999999.99999 is 10^16 in numeric(20,4)
                if abs(n) >= MAX_NUMBER:
                    raise ValueError(text)
            if n < 0:
                problems.append(Problem(name, text, "amount_non_negative", f"{name} {text!r} is negative"))
                return _SKIP
            if year and not 2014 <= n <= 2030:
                problems.append(Problem(name, text, "year_range", f"year {text!r} is outside 2014–2030"))
                return _SKIP
            return n
        return number_value
    if col.type == SHARE:
        def share_value(raw, text, row_unit, problems, warnings):
            share = parse_share(raw)
            if not 0 <= share <= 1:
                problems.append(Problem(name, text, "share_range", f"{name} {text!r} is not between 0 and 1"))
                return _SKIP
            return share
        return share_value
    raise ValueError(f"no converter for column type {col.type!r} ({name})")
