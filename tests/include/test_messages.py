"""The message catalogue (contract/reference/messages.yml): every rule code the warehouse uses has its meaning
and what to fix in Chinese and English, with the same placeholders; the English is the warehouse's own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stic.contract import messages
from stic.intake import normalise
from stic.ledger.status import Status
from stic.reports import receipts

PACKAGE = Path(__file__).resolve().parents[2] / "include" / "stic"
PLACEHOLDERS = {"columns", "values", "message", "rule", "rule_words"}

# Where the code names the rules it rejects a file or a row by, and each pattern that finds them.
_CODE_PATTERNS = (
    re.compile(r'FileRejected\(\s*"(\w+)"'),  # the readers and the loader
    re.compile(r'problem = \("(\w+)"'),  # the JSON reader's per-record problems
    re.compile(r'rejected_rule = "(\w+)"'),  # the loader's no_valid_rows
    re.compile(r'"rule": "(\w+)"'),  # `stic check`'s submission_rule
)


def file_rule_codes() -> set[str]:
    """Every file-level rule code raised or recorded anywhere in include/stic."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in _CODE_PATTERNS:
            found |= set(pattern.findall(text))
    return found


def receipt_rule_codes() -> set[str]:
    """The rules a receipt names without a row rule behind them: the file rules it reads from a rejection
    reason (receipts._file_rule), the statuses it advises on, the expectation rules it has words for."""
    source = Path(receipts.__file__).read_text(encoding="utf-8")
    body = source.split("def _file_rule", 1)[1].split("\ndef ", 1)[0]
    found = set(re.findall(r'return "(\w+)"', body)) | set(re.findall(r'"(\w+)" if ', body))
    found |= set(re.search(r"\\b\(([\w|]+)\)\\b", body).group(1).split("|"))  # the encoding|binary|empty match
    return found | {"duplicate", "superseded", "not_empty", "completed_without_end"}


def every_rule_code() -> set[str]:
    return set(normalise.RULES) | file_rule_codes() | receipt_rule_codes()


def gaps(catalogue: dict, codes: set[str]) -> list[str]:
    """What is wrong with the catalogue for these codes: a missing entry, language or text, or a Chinese and an
    English text whose placeholders differ."""
    out = []
    rules = catalogue["rules"]
    for code in sorted(codes):
        if code not in rules:
            out.append(f"{code}: no entry")
            continue
        for part in ("message", "advice"):
            texts = (rules[code] or {}).get(part) or {}
            if any(not isinstance(texts.get(lang), str) or not texts[lang].strip() for lang in messages.LANGS):
                out.append(f"{code}.{part}: needs a zh and an en text, has {sorted(texts)}")
                continue
            zh, en = (messages.placeholders(texts[lang]) for lang in messages.LANGS)
            if zh != en:
                out.append(f"{code}.{part}: zh has {sorted(zh)}, en has {sorted(en)}")
            if not en <= PLACEHOLDERS:
                out.append(f"{code}.{part}: unknown placeholders {sorted(en - PLACEHOLDERS)}")
    return out


def test_the_discovery_finds_the_rule_codes_it_should():
    files = file_rule_codes()
    assert {"unmapped_amount", "encrypted", "missing_columns", "too_many_columns", "bad_columns", "unreadable",
            "empty", "binary", "encoding", "cell_too_large", "zip_bomb", "no_valid_rows", "submission_rule"} <= files
    assert {"missing_columns", "bad_columns", "unmapped_amount", "unreadable", "no_valid_rows", "submission_rule",
            "encoding", "binary", "empty"} <= receipt_rule_codes()
    assert {"district_mismatch", "code_unlisted", "award_share_below_floor"} <= set(normalise.RULES)


def test_every_rule_code_has_zh_and_en_message_and_advice_with_the_same_placeholders():
    assert gaps(messages.catalogue(), every_rule_code()) == []
    assert gaps({"rules": {"fallback": messages.catalogue()["fallback"]}}, {"fallback"}) == []
    for code in every_rule_code():
        for lang in messages.LANGS:
            assert messages.message(code, lang) and messages.advice(code, lang)


def test_the_check_fails_when_a_translation_is_missing_or_differs():
    rules = {code: {part: dict(texts) for part, texts in entry.items()}
             for code, entry in messages.catalogue()["rules"].items()}
    del rules["code_list"]["advice"]["zh"]
    rules["date_parse"]["advice"]["zh"] = "请把日期写成 2018-06-30。"  # lost {columns}
    del rules["encrypted"]
    assert gaps({"rules": rules}, every_rule_code()) == [
        "code_list.advice: needs a zh and an en text, has ['en']",
        "date_parse.advice: zh has [], en has ['columns']",
        "encrypted: no entry",
    ]


def test_the_english_is_the_warehouse_own_and_normalise_reads_it_from_the_catalogue():
    for rule, (_severity, text) in normalise.RULES.items():
        assert text == messages.message(rule, "en")
    assert normalise.RULES["required"][1] == "A required field is empty."
    assert normalise.RULES["district_mismatch"][1] == (
        "A district reports only its own district's rows; a row booked to another district is accepted only when "
        "it names the submitter in joint_with.")
    # the numbers a message quotes are the ones the rules apply
    assert f"longer than {normalise.MAX_TEXT} characters" in messages.message("text_too_long", "en")
    lo, hi = normalise.DATE_YEARS
    assert messages.message("date_range", "en") == f"The date is before {lo} or after {hi}."
    assert f"{normalise.MAX_TEXT} 个字符" in messages.message("text_too_long", "zh")


def test_advice_fills_columns_and_values_and_says_so_when_there_are_none():
    assert messages.advice("year_range", "en", columns="start_year") == "Use a year between 2014 and 2030 in start_year."
    assert messages.advice("year_range", "zh", columns="start_year") == "start_year 请使用 2014 至 2030 年之间的年份。"
    assert messages.advice("required", "en") == (
        "Fill in the column named in the examples on every row: a row without it cannot be published.")
    assert messages.advice("required", "zh") == "请在每一行填写 示例中所列的列：缺少该项的行不能发布。"
    assert messages.advice("district_mismatch", "en").endswith(
        "in joint_with. Correct the rows listed under rule district_mismatch and send the file again.")


def test_an_unknown_rule_is_a_clear_error_or_its_code_in_words():
    with pytest.raises(messages.UnknownRule, match="'no_such_rule' has no message in .*messages.yml"):
        messages.message("no_such_rule", "zh")
    with pytest.raises(messages.UnknownRule):
        messages.advice("no_such_rule", "en")
    with pytest.raises(ValueError, match="language 'fr'"):
        messages.message("required", "fr")
    # an expectation rule without words of its own: as the receipts have always said it
    assert messages.message("amount_without_deal_date", "en", strict=False) == "Amount without deal date."
    assert messages.advice("amount_without_deal_date", "en", strict=False) == (
        "Amount without deal date. Correct the rows listed under rule amount_without_deal_date and send the file again.")
    assert messages.advice("amount_without_deal_date", "zh", strict=False) == (
        "规则“Amount without deal date”。请更正规则 amount_without_deal_date 下列出的行，然后重新发送文件。")


def test_bilingual_puts_the_chinese_first_for_the_terminal():
    assert messages.bilingual("required") == "必填字段为空。 / A required field is empty."
    assert messages.bilingual("amount_non_negative", "advice", columns="funding_municipal_yuan") == (
        "请更正 funding_municipal_yuan 中为负数的金额或数量：必须大于或等于零。 / "
        "Correct the negative amounts or counts in funding_municipal_yuan: they must be zero or more.")
    assert messages.bilingual("no_such_rule") == "规则“No such rule”。 / No such rule."
    with pytest.raises(messages.UnknownRule):
        messages.bilingual("no_such_rule", strict=True)


def test_every_status_and_severity_has_its_chinese():
    for key in [*Status, "critical", "warning", "info"]:
        zh = messages.term(key, "zh")
        assert zh != str(key) and re.search(r"[\u4e00-\u9fff]", zh), key
        assert messages.term(key, "en") == str(key)
    assert messages.term("not_a_term", "zh") == "not_a_term"
