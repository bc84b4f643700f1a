"""Code lists and their alias maps: resolve whatever spelling a submitter used to one code."""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from importlib import resources

from stic.contract import load_yaml

_FOLD_STRIP = re.compile(r"[\s_\-.·'’]+")


def fold(value: str) -> str:
    """The matching key of a value: NFKC (full-width to half-width), lower case, no spaces/_/-/./'."""
    return _FOLD_STRIP.sub("", unicodedata.normalize("NFKC", str(value)).strip().lower())


class CodeError(ValueError):
    def __init__(self, codelist: str, value: str):
        self.codelist = codelist
        self.value = value
        super().__init__(
            f"{value!r} is not a known {codelist.replace('_', ' ')}; "
            f"expected one of: {', '.join(codes(codelist))} (or an alias in include/stic/contract/reference/codelists.yml)"
        )


@cache
def _lists() -> dict[str, dict[str, dict]]:
    text = resources.files("stic").joinpath("contract/reference/codelists.yml").read_text(encoding="utf-8")
    return load_yaml(text)


@cache
def codes(codelist: str) -> tuple[str, ...]:
    if codelist == "region":
        return tuple(_lists()["district"]) + tuple(_lists()["region"])
    return tuple(_lists()[codelist])


def entries(codelist: str) -> dict[str, dict]:
    """code -> {en, zh, aliases} of one list."""
    return dict(_lists()[codelist])


@cache
def _alias_map(codelist: str) -> dict[str, str]:
    sources = ["district", "region"] if codelist == "region" else [codelist]
    out: dict[str, str] = {}
    for src in sources:
        for code, entry in _lists()[src].items():
            for alias in [code, entry.get("en", ""), entry.get("zh", ""), *(entry.get("aliases") or [])]:
                key = fold(str(alias))
                if not key:
                    continue
                if out.get(key, code) != code:
                    raise ValueError(f"alias {alias!r} maps to both {out[key]} and {code} in code list {src}")
                out[key] = code
    return out


@lru_cache(maxsize=16384)
def _resolve(codelist: str, value: str) -> str | None:
    return _alias_map(codelist).get(fold(value))


def resolve(codelist: str, value: str) -> str:
    """The code for `value` in `codelist`, or CodeError naming the value."""
    code = _resolve(codelist, value) if isinstance(value, str) else _alias_map(codelist).get(fold(value))
    if code is None:
        raise CodeError(codelist, value)
    return code


def submitters() -> dict[str, dict]:
    """Every submitter: code -> {en, zh, type}."""
    out = {code: {**e, "type": "district"} for code, e in _lists()["district"].items()}
    out.update({code: {**e, "type": "agency"} for code, e in _lists()["agency"].items()})
    return out
