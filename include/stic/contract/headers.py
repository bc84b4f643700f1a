"""Read a submitted column header as parts — measure, source, qualifiers, unit — and find the column it means.

Exact aliases (include/stic/contract/kinds.py) cannot keep up with the ways offices word an amount header:
中央财政资助（万元）, 国拨经费, 资金来源（万元）-中央财政, Central gov. funding (10k yuan), municipal_funding_wan.
This module reads such a header through the stewards' vocabulary (reference/header_vocabulary.yml): the
words it contains (longest first), the concepts they stand for, and the unit wherever it is written. A
column is recognised when all concepts of one of its combinations are present; a tie is an ambiguity the
file must resolve, never a guess. Submitter profiles (reference/profiles/<SUBMITTER>.yml) map an office's
own reviewed headers and are consulted before anything else.

It also decides whether a column nothing maps "looks like it carries amounts" (`unmapped_amounts`), so
that the loader rejects the file instead of dropping those numbers. The work here is per file (headers,
and a sample of the first rows), never per row.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from stic.contract import codes, load_yaml
from stic.contract.kinds import KINDS, MONEY, Kind

VOCABULARY_FILE = "contract/reference/header_vocabulary.yml"
PROFILES_DIR = "contract/reference/profiles"
# How many data rows are looked at to tell whether an unnamed or unrecognised column holds numbers.
SAMPLE_ROWS = 200
# Share of the non-empty sampled cells that must be numbers for a column to count as numeric.
NUMERIC_SHARE = 0.8
MONEY_CONCEPT, NOT_AMOUNT = "money", "not_amount"
# Separators of flattened two-level headers (资金来源-中央财政) and of English words (self_raised).
_LEVEL_SEPARATORS = re.compile(r"\s*[-－—–_/／|｜]\s*|\s+")
_WORD_BREAKS = re.compile(r"[\s\-－—–_/／\\|｜:：;；,，.。()（）\[\]【】〔〕{}<>《》\"'“”‘’·、+&=*~]+")
_DIGIT_GROUPS = re.compile(r"(?<=\d)[,，\s](?=\d{3}(?!\d))")


class VocabularyError(ValueError):
    """The header vocabulary or a submitter profile is malformed (a steward's edit to fix)."""


def clean(h: Any) -> str:
    """A header as text: NFKC (full-width to half-width), no BOM, no surrounding spaces."""
    return unicodedata.normalize("NFKC", "" if h is None else str(h)).replace("\ufeff", "").strip()


def normalise(text: str) -> str:
    """The matching form of a header: lower case, 10,000 -> 10000, every bracket/separator one space."""
    s = unicodedata.normalize("NFKC", text).lower()
    s = _DIGIT_GROUPS.sub("", s)
    return " " + _WORD_BREAKS.sub(" ", s).strip() + " "


def _is_word_char(c: str) -> bool:
    return c.isascii() and c.isalnum()


# --------------------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Rule:
    column: str
    match: tuple[frozenset[str], ...]
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    words: dict[str, frozenset[str]]  # normalised word -> its concepts ("unit:wan_yuan", "unit?:美元" for units)
    max_len: int
    rules: dict[str, tuple[Rule, ...]]  # kind -> column rules
    concepts: frozenset[str]


def _norm_word(w: Any) -> str:
    return normalise(str(w)).strip()


@cache
def vocabulary() -> Vocabulary:
    text = resources.files("stic").joinpath(VOCABULARY_FILE).read_text(encoding="utf-8")
    data = load_yaml(text) or {}
    words: dict[str, set[str]] = {}

    def add(word, concept: str, where: str) -> None:
        w = _norm_word(word)
        if not w:
            raise VocabularyError(f"{VOCABULARY_FILE}: an empty word under {where}")
        words.setdefault(w, set()).add(concept)

    unit_codes = set(codes.codes("unit"))
    for unit, ws in (data.get("units") or {}).items():
        if unit not in unit_codes:
            raise VocabularyError(f"{VOCABULARY_FILE}: units: {unit!r} is not a unit code ({', '.join(sorted(unit_codes))})")
        for w in ws:
            add(w, f"unit:{unit}", f"units.{unit}")
    for w in data.get("unsupported_units") or []:
        add(w, f"unit?:{w}", "unsupported_units")
    concepts = set(data.get("concepts") or {})
    for concept, ws in (data.get("concepts") or {}).items():
        for w in ws:
            add(w, concept, f"concepts.{concept}")
    rules: dict[str, tuple[Rule, ...]] = {}
    for kind_name, columns in (data.get("columns") or {}).items():
        if kind_name not in KINDS:
            raise VocabularyError(f"{VOCABULARY_FILE}: columns: {kind_name!r} is not a kind ({', '.join(KINDS)})")
        kind = KINDS[kind_name]
        out = []
        for col, spec in columns.items():
            if col not in kind.column_names:
                raise VocabularyError(f"{VOCABULARY_FILE}: columns.{kind_name}: {col!r} is not a column of {kind_name}")
            combos = []
            for combo in spec.get("match") or []:
                unknown = [c for c in combo if c not in concepts]
                if unknown:
                    raise VocabularyError(f"{VOCABULARY_FILE}: columns.{kind_name}.{col}: unknown concept(s) {unknown}")
                combos.append(frozenset(combo))
            if not combos:
                raise VocabularyError(f"{VOCABULARY_FILE}: columns.{kind_name}.{col} has no `match` combination")
            out.append(Rule(col, tuple(combos), tuple(str(e) for e in spec.get("examples") or ())))
        rules[kind_name] = tuple(out)
    frozen = {w: frozenset(c) for w, c in words.items()}
    return Vocabulary(frozen, max(map(len, frozen)), rules, frozenset(concepts))


@dataclass(frozen=True)
class Reading:
    """What a header says: its concepts, the unit(s) it states, the words of it nothing knew."""

    text: str
    concepts: frozenset[str]
    units: tuple[str, ...]  # unit codes, in order, without repeats
    unsupported_units: tuple[str, ...]  # e.g. 美元, 千元: amounts the warehouse cannot convert
    unknown: tuple[str, ...]  # leftover characters / English words

    @property
    def unit(self) -> str | None:
        return self.units[0] if len(self.units) == 1 else None

    @property
    def says_amount(self) -> bool:
        """A unit of money, or a money word (资金, 经费, funding …) without a name/date/count/ratio word."""
        if self.units or self.unsupported_units:
            return True
        return MONEY_CONCEPT in self.concepts and NOT_AMOUNT not in self.concepts

    @property
    def not_amount(self) -> bool:
        return NOT_AMOUNT in self.concepts and not (self.units or self.unsupported_units)


@lru_cache(maxsize=4096)
def read(header: str) -> Reading:
    """Tokenise a header against the vocabulary, longest word first (English words only as whole words)."""
    v = vocabulary()
    s = normalise(clean(header))
    concepts: set[str] = set()
    units: list[str] = []
    unsupported: list[str] = []
    unknown: list[str] = []
    i, n = 0, len(s)
    while i < n:
        if s[i] == " ":
            i += 1
            continue
        for length in range(min(v.max_len, n - i), 0, -1):
            w = s[i:i + length]
            found = v.words.get(w)
            if found is None:
                continue
            # An English word must stand alone: "state" is not in "statement", "list" not in "listing".
            if _is_word_char(w[0]) and _is_word_char(s[i - 1]):
                continue
            if _is_word_char(w[-1]) and i + length < n and _is_word_char(s[i + length]):
                continue
            for c in found:
                if c.startswith("unit:"):
                    if c[5:] not in units:
                        units.append(c[5:])
                elif c.startswith("unit?:"):
                    unsupported.append(c[6:])
                else:
                    concepts.add(c)
            i += length
            break
        else:
            if _is_word_char(s[i]):
                j = i
                while j < n and _is_word_char(s[j]):
                    j += 1
                unknown.append(s[i:j])
                i = j
            else:
                unknown.append(s[i])
                i += 1
    if units or unsupported:
        concepts.add(MONEY_CONCEPT)  # a header that states a unit of money is about an amount
    return Reading(header, frozenset(concepts), tuple(units), tuple(unsupported), tuple(unknown))


@dataclass(frozen=True)
class Match:
    column: str | None
    tied: tuple[str, ...] = ()  # two or more columns matched equally well


@lru_cache(maxsize=4096)
def _match(kind_name: str, header: str) -> Match:
    found = _match_reading(kind_name, read(header))
    parts = levels(header)
    if found.tied and len(parts) > 1:
        # A flattened header's parent names the group, its last level the column: 投资情况（万元）-设备原值 is the
        # original value, although the parent speaks of investment.
        child = _match_reading(kind_name, read(parts[-1]))
        if child.column in found.tied:
            return child
    return found


def _match_reading(kind_name: str, reading: Reading) -> Match:
    kind = KINDS[kind_name]
    best: dict[str, int] = {}
    for rule in vocabulary().rules.get(kind_name, ()):
        if kind.column(rule.column).type == MONEY and NOT_AMOUNT in reading.concepts:
            continue  # 自筹资金比例 is a ratio, 资金到位日期 a date: never an amount column
        for combo in rule.match:
            if combo <= reading.concepts:
                best[rule.column] = max(best.get(rule.column, 0), len(combo))
    if not best:
        return Match(None)
    top = max(best.values())
    winners = tuple(c for c, s in best.items() if s == top)
    return Match(winners[0]) if len(winners) == 1 else Match(None, winners)


def match(kind: Kind, header: Any) -> Match:
    """The column of `kind` the vocabulary reads `header` as (or the columns it cannot choose between)."""
    return _match(kind.name, clean(header))


def levels(header: Any) -> list[str]:
    """The levels of a flattened header: 资金来源（万元）-中央财政 -> ['资金来源（万元）', '中央财政']."""
    return [p for p in _LEVEL_SEPARATORS.split(clean(header)) if p]


def last_level_alias(aliases: dict[str, str], header: Any) -> str | None:
    """The column whose exact alias is the header's last level(s): 基本信息-项目编号 -> project_code."""
    parts = levels(header)
    for k in range(1, len(parts)):
        col = aliases.get(codes.fold("".join(parts[k:])))
        if col is not None:
            return col
    return None


# ----------------------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class ProfileEntry:
    column: str
    unit: str | None
    header: str


@cache
def profile(submitter: str) -> dict[str, dict[str, ProfileEntry]]:
    """kind -> folded header -> entry, from reference/profiles/<SUBMITTER>.yml ({} when the office has none)."""
    name = f"{submitter.upper()}.yml"
    path = resources.files("stic").joinpath(PROFILES_DIR).joinpath(name)
    if not path.is_file():
        return {}
    where = f"{PROFILES_DIR}/{name}"
    data = load_yaml(path.read_text(encoding="utf-8")) or {}
    if str(data.get("submitter", "")).upper() != submitter.upper():
        raise VocabularyError(f"{where}: `submitter: {data.get('submitter')}` does not match the file name")
    out: dict[str, dict[str, ProfileEntry]] = {}
    for kind_name, entries in (data.get("kinds") or {}).items():
        if kind_name not in KINDS:
            raise VocabularyError(f"{where}: {kind_name!r} is not a kind ({', '.join(KINDS)})")
        kind = KINDS[kind_name]
        m: dict[str, ProfileEntry] = {}
        for e in entries or []:
            header, col, unit = e.get("header"), e.get("column"), e.get("unit")
            if not header or col not in kind.column_names:
                raise VocabularyError(f"{where}: {kind_name}: entry {e!r} needs a header and a column of {kind_name}")
            if unit is not None:
                try:
                    unit = codes.resolve("unit", str(unit))
                except codes.CodeError as err:
                    raise VocabularyError(f"{where}: {kind_name}: {header!r}: {err}") from None
            key = codes.fold(clean(header))
            if key in m:
                raise VocabularyError(f"{where}: {kind_name}: header {header!r} is listed twice")
            m[key] = ProfileEntry(col, unit, clean(header))
        out[kind_name] = m
    return out


def profile_entry(submitter: str | None, kind: Kind, header: str, base: str) -> ProfileEntry | None:
    """The submitter's reviewed entry for this header (as written, or without its unit)."""
    if not submitter:
        return None
    entries = profile(submitter).get(kind.name)
    if not entries:
        return None
    return entries.get(codes.fold(header)) or entries.get(codes.fold(base))


# ------------------------------------------------------------------------------ no silent loss check


# A sample also stops at this many cells: 200 rows of a 16,000-column file held 260 MB
# (tests/reliability/test_memory_bounds.py).
SAMPLE_CELLS = 400_000


def peek(rows: Iterable, n: int = SAMPLE_ROWS, max_cells: int = SAMPLE_CELLS) -> tuple[Iterator, list]:
    """(all rows again, the first n of them — fewer of very wide rows): a look at the first rows without losing any.

    Rows are (row_number, sheet, cells); the sample stops at `max_cells` cells so that its memory is bounded.
    """
    it = iter(rows)
    head: list = []
    cells = 0
    if n <= 0:
        return it, head
    for row in it:
        head.append(row)
        cells += len(row[-1])
        if len(head) >= n or cells >= max_cells:
            break
    return itertools.chain(head, it), head


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | Decimal):
        return True
    s = clean(value).replace(",", "").replace(" ", "")
    for suffix in ("亿元", "万元", "元", "亿", "万", "%"):
        if s.endswith(suffix):
            s = s[: -len(suffix)]
            break
    s = s.lstrip("¥￥")
    try:
        return bool(s) and Decimal(s).is_finite()
    except InvalidOperation:
        return False


_EMPTY = frozenset({"", "-", "—", "无", "null", "none", "n/a"})


def _sampled(values: list[Any]) -> tuple[int, int]:
    """(non-empty cells, of which numbers)."""
    filled = [v for v in values if v is not None and clean(v).lower() not in _EMPTY]
    return len(filled), sum(1 for v in filled if _is_number(v))


def candidates(kind: Kind, reading: Reading | None, mapped: Iterable[str]) -> list[str]:
    """The columns an unrecognised amount column could have meant: the kind's amount columns not yet
    mapped (all of them when every one is), those sharing most concepts with the header first."""
    rules = vocabulary().rules.get(kind.name, ())
    mapped = set(mapped)
    money = [c.name for c in kind.columns if c.type == MONEY]
    vocab_cols = [r.column for r in rules]
    pool = [c for c in dict.fromkeys([*money, *vocab_cols]) if c not in mapped] or money
    if reading is None:
        return pool
    overlap = {r.column: max(len(combo & reading.concepts) for combo in r.match) for r in rules}
    return sorted(pool, key=lambda c: -overlap.get(c, 0))


def unmapped_amounts(kind: Kind, headers: list[Any], positions: dict[str, int], unit_position: int | None,
                     sample: list[tuple[int, Any, list[Any]]], submitter: str | None = None) -> dict[int, str]:
    """Cell index -> a message, per column nothing maps that looks like it carries amounts (README, "Intake").

    A column looks like it carries amounts when its header states a unit of money (万元, CNY), or has a money
    word (资金, 拨款, funding …) unless every sampled value is text (资金用途, a description), or — header
    empty or unknown, and not about a name, code, date, count or ratio — at least NUMERIC_SHARE of its
    non-empty cells in the first SAMPLE_ROWS rows are numbers.
    """
    used = set(positions.values()) | ({unit_position} if unit_position is not None else set())
    width = max([len(headers), *(len(cells) for _, _, cells in sample)], default=0)
    zh = {code: e["zh"] for code, e in codes.entries("unit").items()}
    out: dict[int, str] = {}
    for i in range(width):
        if i in used:
            continue
        h = clean(headers[i]) if i < len(headers) else ""
        if len(h) > 200:
            continue  # a pasted paragraph, not a header (stays ignored)
        reading = read(h) if h else None
        values = [cells[i] for _, _, cells in sample if i < len(cells)]
        filled, numbers = _sampled(values)
        why = None
        if reading is not None and (reading.units or reading.unsupported_units):
            why = f"its header states a unit: {', '.join([zh[u] for u in reading.units] + list(reading.unsupported_units))}"
        elif reading is not None and reading.says_amount and not (filled and numbers == 0):
            why = "its header names money"
        elif (reading is None or not reading.not_amount) and filled and numbers >= NUMERIC_SHARE * filled:
            why = f"{numbers} of its {filled} filled cell(s) in the first {len(sample)} rows are numbers"
        if why is None:
            continue
        name = f"{str(headers[i]).strip()!r}" if h else "without a header"
        could = ", ".join(candidates(kind, reading, positions))
        where = "the vocabulary (include/stic/contract/reference/header_vocabulary.yml)" + (
            f" or to the profile of {submitter} (include/stic/contract/reference/profiles/{submitter}.yml)" if submitter else "")
        out[i] = (
            f"column {i + 1} {name} looks like it carries amounts ({why}) but is not recognised as a column of "
            f"{kind.name}; it could be: {could}. Rename the header to say which (e.g. 中央财政资金（万元）), "
            f"or ask the data stewards to add this wording to {where}; the file was not loaded, so no amount is dropped"
        )
    return out

