"""The message catalogue (contract/reference/messages.yml): each rule's meaning and what to fix, in Chinese and English.

One source for the words of a rule: stic.intake.normalise.RULES takes its English messages from here, the
receipts their Chinese and English messages and advice, and `stic check` / `stic ingest` can print
`bilingual(rule)` ("中文 / English"). Chinese (zh) is shown first to the offices that submit; English (en) is
what the JSON receipts, audit.rejected_rows and the logs keep.

    message("date_parse", "zh")                      -> '该值不是日期（…）。'
    advice("code_list", "en", columns="district", values="'Atlantis'")
    bilingual("required")                            -> '必填字段为空。 / A required field is empty.'
"""

from __future__ import annotations

import string
from functools import cache
from importlib import resources

import yaml

LANGS = ("zh", "en")  # the order a submitter reads them in
SEPARATOR = " / "  # between the Chinese and the English of one text on one line


class UnknownRule(KeyError):
    """A rule code with no entry in contract/reference/messages.yml."""

    def __init__(self, rule: str):
        self.rule = rule
        super().__init__(rule)

    def __str__(self) -> str:
        return (f"rule {self.rule!r} has no message in include/stic/contract/reference/messages.yml: "
                f"add its zh and en message and advice there")


@cache
def catalogue() -> dict:
    """The parsed messages.yml: {"rules": {code: {"message": {zh, en}, "advice": {zh, en}}}, "fallback", "terms"}."""
    text = resources.files("stic").joinpath("contract/reference/messages.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def rules() -> tuple[str, ...]:
    """Every rule code the catalogue has words for."""
    return tuple(catalogue()["rules"])


def known(rule: str) -> bool:
    return rule in catalogue()["rules"]


def placeholders(text: str) -> set[str]:
    """The {names} a catalogue text is filled in with."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: the catalogue has {', '.join(LANGS)}")
    return lang


def _entry(rule: str, strict: bool) -> dict:
    entry = catalogue()["rules"].get(rule)
    if entry is None:
        if strict:
            raise UnknownRule(rule)
        return catalogue()["fallback"]
    return entry


def rule_words(rule: str) -> str:
    """duplicate_key -> 'Duplicate key': an unknown rule's code in words."""
    return rule.replace("_", " ").capitalize()


@cache
def message(rule: str, lang: str = "en", *, strict: bool = True) -> str:
    """What the rule means. An unknown rule raises UnknownRule, or with strict=False gets its code in words."""
    return _entry(rule, strict)["message"][_lang(lang)].format(rule=rule, rule_words=rule_words(rule))


def advice(rule: str, lang: str = "en", *, strict: bool = True, columns: str | None = None,
           values: str | None = None) -> str:
    """What to fix for the rule; `columns` and `values` fill its {columns}/{values} (the catalogue's
    'any_column' and 'see_examples' words when not given). Unknown rules as in `message`."""
    template = _entry(rule, strict)["advice"][_lang(lang)]
    return template.format(
        rule=rule, rule_words=rule_words(rule), message=message(rule, lang, strict=strict),
        columns=term("any_column", lang) if columns is None else columns,
        values=term("see_examples", lang) if values is None else values,
    )


def term(key: str, lang: str = "en") -> str:
    """A word of the receipts besides the rules: a status, a severity, a filler; an unknown key is itself."""
    entry = catalogue()["terms"].get(str(key))
    return str(key) if entry is None else entry[_lang(lang)]


def both(zh: str, en: str) -> str:
    """One line in both languages, Chinese first ('中文 / English'); one text only when they are the same."""
    return zh if zh == en else f"{zh}{SEPARATOR}{en}"


def bilingual(rule: str, what: str = "message", *, strict: bool = False, **fmt) -> str:
    """The rule's message (what='message') or advice (what='advice', with columns=/values=) as '中文 / English',
    for the terminal (`stic check`, `stic ingest`). An unknown rule gets its code in words unless strict."""
    if what == "message":
        return both(message(rule, "zh", strict=strict), message(rule, "en", strict=strict))
    if what == "advice":
        return both(advice(rule, "zh", strict=strict, **fmt), advice(rule, "en", strict=strict, **fmt))
    raise ValueError(f"what={what!r}: 'message' or 'advice'")
