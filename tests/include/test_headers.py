"""Header recognition by parts (stic.contract.headers): every vocabulary word and example, profiles, and every way an
amount could vanish at the header — an unrecognised amount column rejects the file, naming it."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from stic.contract import headers
from stic.contract.kinds import KINDS, MONEY, PROJECTS
from stic.intake.normalise import UNIT_FACTORS, map_headers, score_header
from stic.load import check_file

BASE = ["项目编号", "项目名称", "级别", "领域", "牵头单位", "区", "立项日期", "状态"]
GOOD = ["P-1", "张江", "市级", "能源", "复旦", "浦东", "2018-01-01", "在研"]


def vocab_file() -> dict:
    return yaml.safe_load((headers.resources.files("stic") / headers.VOCABULARY_FILE).read_text(encoding="utf-8"))


def examples():
    for kind, rules in headers.vocabulary().rules.items():
        for rule in rules:
            for e in rule.examples:
                yield pytest.param(kind, rule.column, e, id=f"{kind}.{rule.column}:{e}")


def words():
    data = vocab_file()
    for unit, ws in data["units"].items():
        for w in ws:
            yield pytest.param(str(w), {f"unit:{unit}"}, id=f"unit.{unit}:{w}")
    for concept, ws in data["concepts"].items():
        for w in ws:
            yield pytest.param(str(w), {concept}, id=f"{concept}:{w}")
    for w in data["unsupported_units"]:
        yield pytest.param(str(w), {f"unit?:{w}"}, id=f"unsupported:{w}")


@pytest.mark.parametrize("kind, column, header", list(examples()))
def test_every_vocabulary_example_maps_to_its_column(kind, column, header):
    assert headers.match(KINDS[kind], header).column == column
    hm = map_headers(KINDS[kind], [header])
    assert hm.positions == {column: 0}, (hm.ignored, hm.problems)
    if KINDS[kind].column(column).type == MONEY:
        assert column in hm.units, f"{header!r}: the unit in the header was not read"
        [m] = hm.mapping
        assert m["factor"] == str(UNIT_FACTORS[hm.units[column]])


def test_every_column_rule_has_an_example_and_every_amount_column_a_rule():
    for kind, rules in headers.vocabulary().rules.items():
        for rule in rules:
            assert rule.examples, f"{kind}.{rule.column}: add a real header as an example"
    for kind in KINDS.values():
        covered = {r.column for r in headers.vocabulary().rules.get(kind.name, ())}
        money = {c.name for c in kind.columns if c.type == MONEY}
        assert money <= covered, f"{kind.name}: amount columns without a vocabulary rule: {money - covered}"


@pytest.mark.parametrize("word, concepts", list(words()))
def test_every_vocabulary_word_reads_as_its_own_concepts(word, concepts):
    """No word is shadowed by a longer one or lost to the English word-boundary rule."""
    r = headers.read(word)
    found = set(r.concepts) | {f"unit:{u}" for u in r.units} | {f"unit?:{u}" for u in r.unsupported_units}
    assert concepts <= found, r


@pytest.mark.parametrize("kind, header, expected", [
    ("platform_assessments", "市场化收入（万元）", "market_revenue_yuan"),  # 市场 is market, not 市 municipal
    ("projects", "园区配套资金（万元）", None),  # 园区 is a park, not 区 a district
    ("projects", "Statement of funds", None),  # 'state' only as a whole word
    ("platform_assessments", "市级财政资助（万元）", "municipal_fund_yuan"),
    ("platform_assessments", "区级配套资金（万元）", "district_match_yuan"),
])
def test_longest_word_first_and_whole_english_words(kind, header, expected):
    assert headers.match(KINDS[kind], header).column == expected


def test_units_anywhere_and_on_the_parent_level():
    for h, unit in [("资金来源（万元）-中央财政", "wan_yuan"), ("中央财政资助【元】", "yuan"), ("总投资/万元", "wan_yuan"),
                    ("金额:亿元", "yi_yuan"), ("Funding - central [CNY]", "yuan"), ("central_funding_10k_yuan", "wan_yuan"),
                    ("Central (RMB 10,000)", "wan_yuan")]:
        assert headers.read(h).units == (unit,), h


def test_plain_aliases_still_win_and_the_mapping_says_how():
    hm = map_headers(PROJECTS, [*BASE, "中央财政资金（万元）", "市级财政资助（万元）", "资金来源（万元）-区级", "单位自筹（元）"])
    assert hm.ok, hm.problems
    by_col = {m["column"]: m for m in hm.mapping}
    assert by_col["funding_central_yuan"]["via"] == "alias"
    assert by_col["funding_municipal_yuan"] == {"header": "市级财政资助（万元）", "column": "funding_municipal_yuan",
                                                "unit": "wan_yuan", "factor": "10000", "via": "vocabulary"}
    assert by_col["funding_district_yuan"]["unit"] == "wan_yuan"
    assert by_col["funding_self_raised_yuan"]["factor"] == "1"
    assert by_col["project_code"]["via"] == "alias"


def test_flattened_header_finds_the_alias_of_its_last_level():
    hm = map_headers(PROJECTS, ["基本信息-项目编号", "基本信息-项目名称", *BASE[2:]])
    assert hm.positions["project_code"] == 0 and hm.positions["title"] == 1


def test_score_header_counts_headers_read_by_parts():
    assert score_header(PROJECTS, ["资金来源（万元）-中央财政", "Central gov. funding (10k yuan)", "2018年度汇总"]) == 2


def test_ambiguous_header_is_a_file_problem_naming_it_and_both_columns():
    hm = map_headers(KINDS["ip_transactions"], ["挂牌成交价（万元）"])
    [p] = hm.problems
    assert "挂牌成交价" in p and "listed_price_yuan" in p and "deal_amount_yuan" in p


def test_two_headers_for_one_column_name_both():
    hm = map_headers(PROJECTS, [*BASE, "中央财政资助（万元）", "国拨经费（万元）"])
    assert any("中央财政资助（万元）" in p and "国拨经费（万元）" in p for p in hm.problems), hm.problems


def test_unsupported_currency_in_an_amount_header_is_a_file_problem():
    hm = map_headers(PROJECTS, [*BASE, "中央财政资助（美元）"])
    assert any("美元" in p and "万元" in p for p in hm.problems), hm.problems


# ----------------------------------------------------------------------------------------- profiles


def test_every_profile_is_valid():
    d = headers.resources.files("stic") / headers.PROFILES_DIR
    names = [p.name for p in d.iterdir() if p.name.endswith(".yml")]
    assert names, "ship at least the example profile"
    for name in names:
        prof = headers.profile(name[:-4])
        assert prof, name
        for kind, entries in prof.items():
            for e in entries.values():
                assert e.column in KINDS[kind].column_names


def test_profile_is_used_for_its_submitter_only():
    cols = [*BASE, "上级拨款", "新区财政扶持资金"]
    hm = map_headers(PROJECTS, cols, submitter="PD")
    assert hm.ok, hm.problems
    assert hm.units == {"funding_municipal_yuan": "wan_yuan", "funding_district_yuan": "wan_yuan"}
    assert {m["via"] for m in hm.mapping if m["column"].startswith("funding")} == {"profile PD"}
    other = map_headers(PROJECTS, cols, submitter="JA")
    assert "funding_municipal_yuan" not in other.positions and "上级拨款" in other.ignored


def test_profile_unit_in_the_header_wins(tmp_path):
    p = write_csv(tmp_path / "pd.csv", [*BASE, "上级拨款（元）"], [[*GOOD, "1200"]])
    o = check_file(p, "projects", submitter="PD")
    assert o.rejected is None and o.header_mapping[-1]["unit"] == "yuan"


def test_a_broken_profile_is_a_clear_error(tmp_path, monkeypatch):
    bad = tmp_path / "stic"
    (bad / headers.PROFILES_DIR).mkdir(parents=True)
    (bad / headers.PROFILES_DIR / "XX.yml").write_text(
        "submitter: XX\nkinds:\n  projects:\n    - {header: 拨款, column: no_such_column}\n", encoding="utf-8")
    monkeypatch.setattr(headers.resources, "files", lambda _pkg: bad)
    headers.profile.cache_clear()
    try:
        with pytest.raises(headers.VocabularyError, match="XX.yml.*no_such_column"):
            headers.profile("XX")
    finally:
        headers.profile.cache_clear()


# ------------------------------------------------------------------------- no number vanishes silently


def write_csv(path, header, rows, encoding="utf-8"):
    import csv

    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_unmapped_amount_column_rejects_the_file_naming_it_and_the_candidates(tmp_path):
    p = write_csv(tmp_path / "p.csv", [*BASE, "中央财政资助（万元）", "其他来源（万元）"], [[*GOOD, "120", "30"]])
    o = check_file(p, "projects")
    assert o.rejected_rule == "unmapped_amount"
    assert "p.csv" in o.rejected and "'其他来源（万元）'" in o.rejected and "states a unit: 万元" in o.rejected and "column 10" in o.rejected
    could = o.rejected.split("it could be: ")[1]
    assert "funding_municipal_yuan" in could and "funding_central_yuan" not in could.split(".")[0]
    assert o.rows_loaded == 0


def test_money_word_without_unit_rejects(tmp_path):
    p = write_csv(tmp_path / "p.csv", [*BASE, "中央财政资助（万元）", "上级拨款"], [[*GOOD, "120", "30"]])
    o = check_file(p, "projects")
    assert o.rejected_rule == "unmapped_amount" and "'上级拨款'" in o.rejected and "names money" in o.rejected


def test_mostly_numeric_unnamed_column_rejects(tmp_path):
    rows = [[*GOOD[:1], f"项目{i}", *GOOD[2:], "120", "" if i == 3 else str(10 * i)] for i in range(5)]
    for i, r in enumerate(rows):
        r[0] = f"P-{i}"
    p = write_csv(tmp_path / "p.csv", [*BASE, "中央财政资助（万元）", ""], rows)
    o = check_file(p, "projects")
    assert o.rejected_rule == "unmapped_amount" and "column 10 without a header" in o.rejected
    assert "4 of its 4 filled cell(s)" in o.rejected


def test_numbers_beyond_the_header_row_reject(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text(",".join(BASE) + "\n" + ",".join([*GOOD, "99"]) + "\n", encoding="utf-8")
    o = check_file(p, "projects")
    assert o.rejected_rule == "unmapped_amount" and "column 9 without a header" in o.rejected


def test_serial_numbers_and_text_about_money_are_only_ignored(tmp_path):
    rows = [[str(i + 1), f"P-{i}", *GOOD[1:], "120", "设备购置"] for i in range(3)]
    p = write_csv(tmp_path / "p.csv", ["序号", *BASE, "中央财政资助（万元）", "资金用途"], rows)
    o = check_file(p, "projects")
    assert o.rejected is None, o.rejected
    assert o.ignored_columns == ["序号", "资金用途"]
    assert o.rows_loaded == 3


def test_the_sample_loses_no_row(tmp_path):
    rows = [[f"P-{i}", *GOOD[1:], str(i)] for i in range(headers.SAMPLE_ROWS * 2 + 7)]
    p = write_csv(tmp_path / "p.csv", [*BASE, "资金来源（万元）-中央财政"], rows)
    o = check_file(p, "projects")
    assert (o.rejected, o.rows_received, o.rows_loaded) == (None, len(rows), len(rows))


def test_amounts_read_by_parts_arrive_in_exact_yuan(tmp_path):
    from stic.load import ParseOutcome, parse_rows

    p = write_csv(tmp_path / "p.csv", [*BASE, "中央财政资助（万元）", "市级财政资助（万元）", "区级配套资金（万元）",
                                       "自筹资金（万元）"], [[*GOOD, "120", "50.5", "0", "3.5"]], encoding="gb18030")
    [(_, _, values, _)] = list(parse_rows(p, PROJECTS, ParseOutcome()))
    assert [values[c] for c in ("funding_central_yuan", "funding_municipal_yuan", "funding_district_yuan",
                                "funding_self_raised_yuan")] == [Decimal("1200000.00"), Decimal("505000.00"),
                                                                 Decimal("0.00"), Decimal("35000.00")]


@pytest.mark.parametrize("header", ["结束日期", "截止日期", "结题日期", "完成日期"])
def test_a_project_end_date_under_the_names_offices_give_it(header):
    # 结题日期 (the date a project is concluded) was ignored as "no amounts in it": the end date was lost
    hm = map_headers(PROJECTS, [*BASE, header])
    assert hm.positions["end_date"] == len(BASE), (hm.ignored, hm.problems)
