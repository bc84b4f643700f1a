"""One submitted cell as a typed value: text cleaned, numbers (full-width digits, thousands separators), amounts
in 元/万元/亿元 as exact yuan, dates in the forms offices write them; and text made safe to hand back out."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

UNIT_FACTORS = {"yuan": Decimal(1), "wan_yuan": Decimal(10_000), "yi_yuan": Decimal(100_000_000)}
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
EXCEL_SERIAL_DATES = (20_000, 80_000)  # 1954..2119: a spreadsheet date stored as its day number
_DATE_PATTERNS = (
    re.compile(r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:[ T]\d{1,2}:\d{2}(:\d{2})?)?$"),
    re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日?$"),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"),
)
_CENT = Decimal("0.01")


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
