"""The normaliser: header aliases and units, exact yuan, district spellings, row rules, formula neutralising."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from stic.contract.kinds import FACILITIES, IP_TRANSACTIONS, PLATFORM_ASSESSMENTS, PROJECTS
from stic.intake.normalise import (
    DATE_YEARS,
    RULES,
    map_headers,
    neutralise_formula,
    normalise_row,
    parse_date,
    parse_decimal,
    parse_money,
    score_header,
    split_header,
)

D = Decimal
HEADER = ["项目编号", "项目名称", "级别", "领域", "牵头单位", "区", "立项日期", "状态"]
GOOD = ["P-1", "张江", "市级", "能源", "复旦", "浦东", "2018-01-01", "在研"]


def row(extra_headers=(), extra_cells=(), submitter=None, **changes):
    headers = HEADER + list(extra_headers)
    cells = GOOD + list(extra_cells)
    for col, value in changes.items():
        cells[headers.index(col)] = value
    hm = map_headers(PROJECTS, headers)
    assert hm.ok, hm.problems
    return normalise_row(PROJECTS, hm, cells, submitter=submitter)


@pytest.mark.parametrize("spelling", ["浦东新区", "浦东", "Pudong", "Pudong New Area", "PD", "pd", "pudong new district",
                                      " Pudong  New  Area ", "ＰＵＤＯＮＧ", "浦东 新区", "PUDONG_NEW_AREA"])
def test_every_spelling_of_pudong_is_pd(spelling):
    values, problems, _ = row(区=spelling)
    assert problems == [] and values["district"] == "PD"


def test_unknown_district_is_an_error_naming_the_value():
    values, problems, _ = row(区="浦西")
    [p] = problems
    assert (p.column, p.value, p.rule, p.severity) == ("district", "浦西", "code_list", "critical")
    assert p.message.startswith("'浦西' is not a known district")
    assert "district" not in values or values["district"] is None


@pytest.mark.parametrize("header, base, unit", [
    ("金额（万元）", "金额", "wan_yuan"),
    ("中央财政资金(万元)", "中央财政资金", "wan_yuan"),
    ("中央财政资金【元】", "中央财政资金【元】", None),  # not a unit in brackets we know: stays the name
    ("总投资(单位：亿元)", "总投资", "yi_yuan"),
    ("Central funding (10k yuan)", "Central funding", "wan_yuan"),
    ("Central funding [CNY]", "Central funding", "yuan"),
    ("得分（分）", "得分(分)", None),
])
def test_split_header(header, base, unit):
    assert split_header(header) == (base, unit)


def test_unit_suffix_without_parentheses_only_for_amount_headers():
    assert split_header("中央财政资金万元", PROJECTS) == ("中央财政资金", "wan_yuan")
    assert split_header("中央财政资金/亿元", PROJECTS) == ("中央财政资金", "yi_yuan")
    assert split_header("单元", PROJECTS) == ("单元", None)


def test_header_units_and_unit_column():
    hm = map_headers(PROJECTS, [*HEADER, "中央财政资金（万元）", "市财政 (元)", "自筹", "单位"])
    assert hm.ok
    assert hm.units == {"funding_central_yuan": "wan_yuan", "funding_municipal_yuan": "yuan"}
    assert hm.unit_position == 11
    values, problems, _ = normalise_row(PROJECTS, hm, [*GOOD, "１,２３４.５", "99", "3", "亿元"])
    assert problems == []
    assert values["funding_central_yuan"] == D("12345000.00")  # header unit wins over the unit column
    assert values["funding_municipal_yuan"] == D("99.00")
    assert values["funding_self_raised_yuan"] == D("300000000.00")  # unit column


def test_amount_without_any_unit_is_a_file_problem():
    hm = map_headers(PROJECTS, [*HEADER, "中央财政资金"])
    assert not hm.ok and "never guesses a unit" in hm.problems[0] and "中央财政资金" in hm.problems[0]


def test_unknown_or_empty_unit_cell_quarantines_the_row():
    values, problems, _ = row(["中央财政资金", "单位"], ["5", "美元"])
    assert [(p.column, p.value, p.rule) for p in problems] == [
        ("unit", "美元", "unit_unknown"), ("funding_central_yuan", "5", "unit_unknown")]
    _, problems, _ = row(["中央财政资金", "单位"], ["5", ""])
    assert [(p.column, p.rule) for p in problems] == [("funding_central_yuan", "unit_unknown")]


@pytest.mark.parametrize("cell, unit, yuan", [
    ("1,234,567.89", "yuan", D("1234567.89")),
    ("１２３", "wan_yuan", D("1230000.00")),
    ("１２３．４５", "wan_yuan", D("1234500.00")),
    ("12.5万元", None, D("125000.00")),  # the cell's own unit
    ("12.5万", "yuan", D("125000.00")),  # ... wins over the header's
    ("3亿元", "wan_yuan", D("300000000.00")),
    ("¥1,000", "yuan", D("1000.00")),
    ("1 000", "yuan", D("1000.00")),
    (0.1, "wan_yuan", D("1000.00")),  # a float cell, without float error
    (1234567.89, "yuan", D("1234567.89")),
    (D("0.000001"), "yi_yuan", D("100.00")),
    ("1.2E+03", "yuan", D("1200.00")),
])
def test_parse_money_exact_yuan(cell, unit, yuan):
    amount, _ = parse_money(cell, unit)
    assert amount == yuan and isinstance(amount, Decimal) and amount.as_tuple().exponent == -2


@pytest.mark.parametrize("cell", ["12,5", "1,23,4", "abc", "NaN", "inf", "1e30", True, float("nan")])
def test_parse_money_refuses_what_is_not_an_amount(cell):
    with pytest.raises(ValueError):
        parse_money(cell, "yuan")


def test_parse_money_without_unit_never_guesses():
    with pytest.raises(LookupError):
        parse_money("100", None)


def test_bad_numbers_are_quarantined_with_their_rule():
    _, problems, _ = row(["中央财政资金（元）"], ["12,5"])
    assert [(p.column, p.value, p.rule) for p in problems] == [("funding_central_yuan", "12,5", "number_parse")]
    _, problems, _ = row(["中央财政资金（元）"], ["-5"])
    assert [(p.column, p.rule) for p in problems] == [("funding_central_yuan", "amount_non_negative")]


def test_parse_decimal_bounds_and_grouping():
    assert parse_decimal("-1,234") == D("-1234")
    assert parse_decimal(7) == D(7)
    with pytest.raises(ValueError):
        parse_decimal(D("NaN"))


@pytest.mark.parametrize("cell, date", [
    ("2018-06-30", dt.date(2018, 6, 30)), ("2018/6/3", dt.date(2018, 6, 3)), ("2018.06.30", dt.date(2018, 6, 30)),
    ("2018年6月30日", dt.date(2018, 6, 30)), ("20180630", dt.date(2018, 6, 30)), ("２０１８－０６－３０", dt.date(2018, 6, 30)), ("2018-13-01", None),
    (dt.datetime(2018, 6, 30, 12), dt.date(2018, 6, 30)), (43281, dt.date(2018, 6, 30)), (43281.0, dt.date(2018, 6, 30)),
])
def test_parse_date(cell, date):
    if date is None:
        with pytest.raises(ValueError):
            parse_date(cell)
    else:
        assert parse_date(cell) == date


def test_dates_that_do_not_exist_or_order_wrongly():
    _, problems, _ = row(立项日期="2018-02-30")
    assert [(p.column, p.rule) for p in problems] == [("start_date", "date_parse")]
    _, problems, _ = row(["结束日期"], ["2017-12-31"])
    assert [(p.column, p.rule) for p in problems] == [("end_date", "start_before_end")]


def test_required_and_placeholder_values():
    values, problems, _ = row(项目名称="  ", 牵头单位="N/A")
    assert [(p.column, p.rule) for p in problems] == [("title", "required"), ("lead_institution", "required")]
    assert all(RULES[p.rule][0] == "critical" for p in problems)


def test_text_is_kept_exactly_except_control_characters():
    values, problems, _ = row(项目名称="'; drop table x; --", 牵头单位="上海\x00大学\x07")
    assert problems == []
    assert values["title"] == "'; drop table x; --" and values["lead_institution"] == "上海大学"
    values, problems, _ = row(项目名称="长" * 2001)
    assert [p.rule for p in problems] == ["text_too_long"]


def test_award_share_rules():
    """The corrected rule: a floor of 0.7 on transfers and licences by universities and research institutes."""
    headers = ["交易编号", "挂牌日期", "知识产权类型", "交易类型", "转让方", "转让方类型", "奖励比例"]
    hm = map_headers(IP_TRANSACTIONS, headers)
    licence = ["T-1", "2018-01-01", "发明专利", "许可", "复旦", "高校"]
    v, p, w = normalise_row(IP_TRANSACTIONS, hm, [*licence, "70%"])
    assert (v["inventor_award_share"], p, w) == (D("0.7"), [], [])
    v, p, w = normalise_row(IP_TRANSACTIONS, hm, [*licence, "0.95"])
    assert (v["inventor_award_share"], p, w) == (D("0.95"), [], [])  # above the floor: the norm, no warning
    v, p, w = normalise_row(IP_TRANSACTIONS, hm, [*licence, "0.5"])
    assert (v["inventor_award_share"], p, w) == (D("0.5"), [], ["award_share_below_floor"])
    # outside the rule: an enterprise seller, or a technology export by a university
    _, p, w = normalise_row(IP_TRANSACTIONS, hm, ["T-2", "2018-01-01", "发明专利", "许可", "某公司", "企业", "0.5"])
    assert (p, w) == ([], [])
    _, p, w = normalise_row(IP_TRANSACTIONS, hm, ["T-3", "2018-01-01", "发明专利", "技术出口", "复旦", "高校", "0.5"])
    assert (p, w) == ([], [])
    _, p, _ = normalise_row(IP_TRANSACTIONS, hm, [*licence, "1.5"])
    assert [x.rule for x in p] == ["share_range"]


def test_score_header_finds_chinese_and_english_headers_and_ignores_titles():
    assert score_header(PROJECTS, HEADER) == 8
    assert score_header(PROJECTS, ["project code", "Project Title", "DISTRICT", "start date"]) == 4
    assert score_header(PROJECTS, ["2018年度项目汇总表", None, None]) == 0
    assert score_header(PROJECTS, ["中央财政资金（万元）", "中央财政资金万元"]) == 2


@pytest.mark.parametrize("value, out", [
    ("=1+2", "'=1+2"), ("+SUM(A1)", "'+SUM(A1)"), ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
    ("@SUM(1)", "'@SUM(1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("张江", "张江"), ("a=b", "a=b"),
    ("", ""), (None, ""), (-5, "-5"), (D("-1.50"), "-1.50"), (3.5, "3.5"), (True, "True"),
])
def test_neutralise_formula(value, out):
    assert neutralise_formula(value) == out


def test_neutralise_formula_round_trip_through_csv(tmp_path):
    import csv

    p = tmp_path / "out.csv"
    with p.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerow([neutralise_formula(v) for v in ["=HYPERLINK(\"x\")", "张江", 12]])
    assert p.read_bytes().decode("utf-8") == "\"'=HYPERLINK(\"\"x\"\")\",张江,12\r\n"


# The per-file converters (row_normaliser) take short paths for ISO dates and amounts of plain digits; on
# every cell they must agree with the general parsers, including the cells that only look like the short case.
SHORT_PATH_CELLS = ["0", "007", "12000", "99999999999999999", "999999999999999999", "１２０００", "12,000", "1e3",
                    "12.5", " 42 ", "-5", "²", "٣", "12万元"]
DATE_CELLS = ["2018-06-30", "2018-02-30", "2018-6-30", "２０１８-０６-３０", "2018-06-3O", "20180630", "2018年6月30日"]


@pytest.mark.parametrize("cell", SHORT_PATH_CELLS)
@pytest.mark.parametrize("unit_header", ["中央财政资金（元）", "中央财政资金（万元）", "中央财政资金（亿元）"])
def test_amount_short_path_agrees_with_parse_money(cell, unit_header):
    values, problems, _ = row([unit_header], [cell])
    unit = {"（元）": "yuan", "（万元）": "wan_yuan", "（亿元）": "yi_yuan"}[unit_header[unit_header.index("（"):]]
    try:
        expected, _ = parse_money(cell, unit)
    except ValueError:
        assert [p.rule for p in problems] == ["number_parse"] and "funding_central_yuan" not in values
        return
    if expected < 0:
        assert [p.rule for p in problems] == ["amount_non_negative"]
    else:
        assert not problems and values["funding_central_yuan"] == expected
        assert str(values["funding_central_yuan"]) == str(expected)  # same scale (two decimals), not only equal


@pytest.mark.parametrize("cell", DATE_CELLS)
def test_date_short_path_agrees_with_parse_date(cell):
    values, problems, _ = row(立项日期=cell)
    try:
        expected = parse_date(cell)
    except ValueError:
        assert [p.rule for p in problems] == ["date_parse"]
        return
    assert not problems and values["start_date"] == expected


# ---------- numbers and dates the warehouse cannot hold are row problems, never exceptions (issue 12.3)

MONEY_HEADER = "中央财政资金（元）"


@pytest.mark.parametrize("cell", [
    "1e1000000", "1E+999999999", "-1e1000000", "1e-1000000", "NaN", "sNaN", "Infinity", "-Infinity",
    "１e１０００００", "1e1000000万元", "1e18", "999999999999999999.995", "9" * 40, D("1E+1000000"), D("NaN"),
    float("inf"), float("nan"), 1e308, pytest.param(10**5000, id="int-of-5001-digits"),
])
def test_amounts_beyond_numeric_20_2_are_quarantined_as_number_parse(cell):
    values, problems, _ = row([MONEY_HEADER], [cell])
    assert [(p.column, p.rule, p.severity) for p in problems] == [("funding_central_yuan", "number_parse", "critical")]
    assert "funding_central_yuan" not in values


@pytest.mark.parametrize("cell, unit, yuan", [
    ("999999999999999999.99", "yuan", D("999999999999999999.99")),  # the largest numeric(20,2)
    ("9999999999.99", "yi_yuan", D("999999999999000000.00")),
    ("0E+999999999", "yuan", D("0.00")),  # zero, whatever its exponent
    ("1e3", "wan_yuan", D("10000000.00")),
    ("000000000000000000000000001", "yuan", D("1.00")),  # leading zeros are not size
])
def test_amounts_up_to_the_bound_are_kept_exactly(cell, unit, yuan):
    header = {"yuan": "中央财政资金（元）", "wan_yuan": "中央财政资金（万元）", "yi_yuan": "中央财政资金（亿元）"}[unit]
    values, problems, _ = row([header], [cell])
    assert problems == [] and values["funding_central_yuan"] == yuan


@pytest.mark.parametrize("cell", ["1e1000000", "1E+999999999", "1e-1000000", "NaN", "Infinity", "999999999999999999.995"])
def test_parse_money_raises_value_error_not_a_decimal_signal(cell):
    with pytest.raises(ValueError):
        parse_money(cell, "wan_yuan")


FACILITY_HEADER = ["设施编号", "设施名称", "设施类型", "领域", "所在区", "状态", "服务机时", "外部用户数", "开工日期"]
FACILITY_GOOD = ["F-1", "光源", "大科学设施", "光子", "浦东", "运行", "", "", ""]


def facility(submitter=None, **changes):
    cells = list(FACILITY_GOOD)
    for col, value in changes.items():
        cells[FACILITY_HEADER.index(col)] = value
    hm = map_headers(FACILITIES, FACILITY_HEADER)
    assert hm.ok, hm.problems
    return normalise_row(FACILITIES, hm, cells, submitter=submitter)


@pytest.mark.parametrize("column, cell, expected", [
    ("服务机时", "9999999999999999.9999", D("9999999999999999.9999")),  # the largest numeric(20,4)
    ("服务机时", "9999999999999999.99995", None),  # rounds to 10^16: beyond numeric(20,4)
    ("服务机时", "1e1000000", None),
    ("服务机时", "1e-1000000", None),
    ("服务机时", "1E+999999999", None),
    ("外部用户数", "1e1000000", None),
    ("外部用户数", "1e3", 1000),
    ("外部用户数", "99999999999999999999", None),
])
def test_figures_beyond_numeric_20_4_and_bigint(column, cell, expected):
    values, problems, _ = facility(**{column: cell})
    name = {"服务机时": "service_hours", "外部用户数": "external_users"}[column]
    if expected is None:
        assert [(p.column, p.rule) for p in problems] == [(name, "number_parse")]
    else:
        assert problems == [] and values[name] == expected


@pytest.mark.parametrize("cell", ["1e-1000000", "1e1000000%", "1E+999999999", "NaN%"])
def test_award_share_that_cannot_be_held(cell):
    hm = map_headers(IP_TRANSACTIONS, ["交易编号", "挂牌日期", "知识产权类型", "交易类型", "转让方", "奖励比例"])
    _, problems, _ = normalise_row(IP_TRANSACTIONS, hm, ["T-1", "2018-01-01", "发明专利", "许可", "复旦", cell])
    assert [(p.column, p.rule) for p in problems] == [("inventor_award_share", "number_parse")]


@pytest.mark.parametrize("cell, rule", [
    ("1899-12-31", "date_range"), ("0218-03-01", "date_range"), ("2101-01-01", "date_range"),
    (dt.datetime(2200, 1, 1), "date_range"), (dt.date(1850, 1, 1), "date_range"), ("1e1000000", "date_parse"),
    (1e308, "date_parse"), ("1900-01-01", None), ("2100-12-31", None), (45000, None),
])
def test_absurd_dates_are_quarantined(cell, rule):
    values, problems, _ = row(立项日期=cell)
    if rule is None:
        assert problems == [] and DATE_YEARS[0] <= values["start_date"].year <= DATE_YEARS[1]
    else:
        assert [(p.column, p.rule, p.severity) for p in problems] == [("start_date", rule, "critical")]


# ---------- classifying codes are open: an unlisted one is published as other, kept, warned (issue 11.6)

def test_unlisted_field_and_institution_type_are_published_as_other_with_the_text_kept():
    values, problems, warnings = row(["单位类型"], ["新型研发机构"], 领域="合成生物学")
    assert problems == [] and warnings == ["code_unlisted"]
    assert (values["field"], values["field_submitted"]) == ("other", "合成生物学")
    assert (values["institution_type"], values["institution_type_submitted"]) == ("other", "新型研发机构")
    assert RULES["code_unlisted"][0] == "warning"


def test_listed_classifying_codes_keep_no_submitted_text():
    values, problems, warnings = row(["单位类型"], ["高校"])
    assert (problems, warnings) == ([], [])
    assert (values["field"], values["field_submitted"], values["institution_type_submitted"]) == ("energy", None, None)


def test_unlisted_seller_type_is_other_but_an_unlisted_ip_type_stays_critical():
    hm = map_headers(IP_TRANSACTIONS, ["交易编号", "挂牌日期", "知识产权类型", "交易类型", "转让方", "转让方类型", "领域"])
    base = ["T-1", "2018-01-01", "发明专利", "许可", "复旦"]
    values, problems, warnings = normalise_row(IP_TRANSACTIONS, hm, [*base, "新型研发机构", "元宇宙"])
    assert (problems, warnings) == ([], ["code_unlisted"])
    assert (values["seller_type"], values["seller_type_submitted"]) == ("other", "新型研发机构")
    assert (values["field"], values["field_submitted"]) == ("other", "元宇宙")
    _, problems, _ = normalise_row(IP_TRANSACTIONS, hm, ["T-1", "2018-01-01", "perpetual motion", "许可", "复旦", "", ""])
    assert [(p.column, p.rule) for p in problems] == [("ip_type", "code_list")]


@pytest.mark.parametrize("column, cell, rule_column", [("级别", "省级", "level"), ("状态", "搁置", "status"), ("区", "浦西", "district")])
def test_identifying_codes_stay_critical(column, cell, rule_column):
    _, problems, _ = row(**{column: cell})
    assert [(p.column, p.rule, p.severity) for p in problems] == [(rule_column, "code_list", "critical")]


def test_facility_type_is_identifying_it_decides_which_figures_a_facility_counts_in():
    _, problems, _ = facility(设施类型="spaceport")
    assert [(p.column, p.rule) for p in problems] == [("facility_type", "code_list")]
    values, problems, warnings = facility(领域="深海")
    assert (problems, warnings, values["field"], values["field_submitted"]) == ([], ["code_unlisted"], "other", "深海")


# ---------- who may report what (issue 12.5)

def test_a_district_may_not_book_a_row_to_another_district():
    _, problems, _ = row(区="黄浦", submitter="PD")
    [p] = problems
    assert (p.column, p.value, p.rule, p.severity) == ("district", "HP", "district_mismatch", "critical")
    assert "PD may report only its own district's rows" in p.message and "joint_with" in p.message


def test_own_district_agencies_and_unknown_submitters_are_not_checked():
    assert row(submitter="PD")[1] == []
    assert row(区="黄浦", submitter="STCSM")[1] == []  # an agency may report any district
    assert row(区="黄浦")[1] == []  # no submitter given (e.g. a library caller): nothing to compare


@pytest.mark.parametrize("cell, partners", [("PD", "PD"), ("浦东、徐汇", "PD,XH"), ("Xuhui; pudong new area", "PD,XH"),
                                            ("浦东，浦东", "PD")])
def test_a_joint_project_naming_the_submitter_is_accepted(cell, partners):
    values, problems, _ = row(["joint_with"], [cell], 区="黄浦", submitter="PD")
    assert problems == [] and (values["district"], values["joint_with"]) == ("HP", partners)


def test_a_joint_project_not_naming_the_submitter_or_naming_an_unknown_district():
    _, problems, _ = row(["合作区"], ["徐汇"], 区="黄浦", submitter="PD")
    assert [(p.column, p.rule) for p in problems] == [("district", "district_mismatch")]
    _, problems, _ = row(["合作区"], ["浦东; 浦西"], 区="黄浦", submitter="PD")
    assert [(p.column, p.rule) for p in problems] == [("joint_with", "code_list")]
    assert "'浦西' is not a known district" in problems[0].message


def test_facilities_have_no_joint_marking():
    _, problems, _ = facility(submitter="HP")
    [p] = problems
    assert (p.rule, p.value) == ("district_mismatch", "PD") and "joint_with" not in p.message


def test_platform_assessments_use_the_platforms_known_district():
    headers = ["平台编号", "考核年度", "得分"]
    hm = map_headers(PLATFORM_ASSESSMENTS, headers)
    owners = {"FP-1": frozenset({"HP"}), "FP-2": frozenset({"PD", "HP"})}

    def check(code, submitter):
        return [p.rule for p in normalise_row(PLATFORM_ASSESSMENTS, hm, [code, "2018", "90"], submitter=submitter,
                                              owner_districts=owners)[1]]
    assert check("FP-1", "PD") == ["district_mismatch"]
    assert check("FP-1", "HP") == []
    assert check("FP-2", "PD") == []  # placed in PD by one record: PD may report it
    assert check("FP-9", "PD") == []  # a platform the warehouse does not know yet
    assert check("FP-1", "SHFB") == []  # the finance bureau reports every platform


def test_reporting_period_warnings_on_the_row():
    """Hand-picked: a completed project ending after its period, a facility operating only after it, a start in 1999."""
    hm = map_headers(PROJECTS, [*HEADER, "结束日期"])
    done = ["P-1", "张江", "市级", "能源", "复旦", "浦东", "2016-01-01", "已完成"]
    assert normalise_row(PROJECTS, hm, [*done, "2018-12-31"], period="2018")[1:] == ([], [])
    assert normalise_row(PROJECTS, hm, [*done, "2019-01-01"], period="2018")[1:] == (
        [], ["completed_end_after_period"])
    assert normalise_row(PROJECTS, hm, [*done, "2018-04-01"], period="2018Q1")[2] == ["completed_end_after_period"]
    underway = [*done[:7], "在研", "2019-06-30"]
    assert normalise_row(PROJECTS, hm, underway, period="2018")[2] == []  # still underway: not a finding
    early = [*done[:6], "1999-12-31", "已完成", "2018-06-30"]
    assert normalise_row(PROJECTS, hm, early, period="2018")[2] == ["start_before_floor"]
    assert normalise_row(PROJECTS, hm, [*done, "2019-01-01"])[2] == []  # no period (a bare check): no period rule
    fh = map_headers(FACILITIES, ["设施编号", "设施名称", "设施类型", "领域", "所在区", "状态", "开工日期", "投入运行日期"])
    lab = ["F-1", "实验室", "laboratory", "能源", "浦东", "运行", "2016-01-01", "2019-02-01"]
    assert normalise_row(FACILITIES, fh, lab, period="2018Q4")[1:] == ([], ["operation_start_after_period"])
    assert normalise_row(FACILITIES, fh, lab, period="2019Q1")[2] == []
