"""Turn submitted cells into typed, canonical values, and apply the row rules of DOMAIN.md.

Headers are mapped to canonical columns (English or Chinese aliases, units in parentheses);
cells are parsed as the column's type (full-width digits, thousands separators, 万元/亿元);
every problem is a `Problem` naming the column, the value and the rule, never an exception.

The header mapping is in `stic.intake.header_map`, the cell parsers in `stic.intake.values`; this module
holds the row rules and re-exports both, so callers import everything from here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
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
from stic.contract.messages import message
from stic.intake.header_map import (
    UNIT_HEADERS,
    HeaderMap,
    header_aliases,
    map_headers,
    score_header,
    split_header,
)
from stic.intake.values import (
    _CENT,
    EXCEL_SERIAL_DATES,
    MAX_EXPONENT,
    MAX_MONEY,
    MAX_NUMBER,
    UNIT_FACTORS,
    _text,
    neutralise_formula,
    parse_date,
    parse_decimal,
    parse_money,
    parse_share,
)

__all__ = [
    "AWARD_SHARE_FLOOR", "CRITICAL", "DATE_YEARS", "EXCEL_SERIAL_DATES", "MAX_EXPONENT", "MAX_MONEY", "MAX_NUMBER",
    "MAX_TEXT", "PERIOD_START_FLOOR", "RULES", "UNIT_FACTORS", "UNIT_HEADERS", "WARNING", "HeaderMap", "Problem",
    "header_aliases", "map_headers", "neutralise_formula", "normalise_row", "parse_date", "parse_decimal",
    "parse_money", "parse_share", "row_normaliser", "score_header", "split_header",
]

# The award floor (DOMAIN.md, Rules, corrected): on a transfer or licence by a university or research institute,
# at least 70 % of the net revenue goes to the inventors and their team.
AWARD_SHARE_FLOOR = Decimal("0.7")
# Earlier start dates are far before the programme (2014; the oldest real facilities date from the 2000s);
# the same floor as dbt's var period_start_floor in rpt_period_consistency.
PERIOD_START_FLOOR = dt.date(2000, 1, 1)
AWARD_FLOOR_TRANSACTIONS = frozenset({"transfer", "license"})
AWARD_FLOOR_SELLERS = frozenset({"university", "research_institute"})
MAX_TEXT = 2000  # a longer cell is a pasted file, not a name
_NUMBER_PLACES = Decimal("0.0001")  # numeric(20,4): rounded here, so the bound is checked on what is stored
DATE_YEARS = (1900, 2100)  # a date outside these years is a typo (0218 for 2018), not a fact of this warehouse
CRITICAL, WARNING = "critical", "warning"

# The rules, in words an auditor understands (from the message catalogue, contract/reference/messages.yml, which
# holds their Chinese too). Rule ids appear in audit.rejected_rows and in receipts.
RULES: dict[str, tuple[str, str]] = {
    "required": (CRITICAL, message("required", "en")),
    "code_list": (CRITICAL, message("code_list", "en")),
    "code_unlisted": (WARNING, message("code_unlisted", "en")),
    "district_mismatch": (CRITICAL, message("district_mismatch", "en")),
    "date_parse": (CRITICAL, message("date_parse", "en")),
    "date_range": (CRITICAL, message("date_range", "en")),
    "number_parse": (CRITICAL, message("number_parse", "en")),
    "unit_unknown": (CRITICAL, message("unit_unknown", "en")),
    "amount_non_negative": (CRITICAL, message("amount_non_negative", "en")),
    "share_range": (CRITICAL, message("share_range", "en")),
    "year_range": (CRITICAL, message("year_range", "en")),
    "text_too_long": (CRITICAL, message("text_too_long", "en")),
    "start_before_end": (CRITICAL, message("start_before_end", "en")),
    "construction_before_operation": (CRITICAL, message("construction_before_operation", "en")),
    "listing_before_deal": (CRITICAL, message("listing_before_deal", "en")),
    "duplicate_key": (CRITICAL, message("duplicate_key", "en")),
    "completed_end_after_period": (WARNING, message("completed_end_after_period", "en")),
    "operation_start_after_period": (WARNING, message("operation_start_after_period", "en")),
    "start_before_floor": (WARNING, message("start_before_floor", "en")),
    "award_share_below_floor": (WARNING, message("award_share_below_floor", "en")),
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



_NULLS = frozenset({"null", "none", "n/a", "-", "—", "无"})  # all at most 4 characters long
_SKIP = object()  # a converter found a problem (already recorded): the column gets no value


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
    general parsers (stic.intake.values), so both paths give the same values and the same problems (profiled: per-cell
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
