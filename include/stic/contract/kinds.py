"""The four submission kinds: their columns, types, code lists, header aliases and who may send them.

This module is the one contract shared by the readers, the normaliser, the raw tables, the generator
and the agency API. A column's `name` is its canonical name: the raw table's column and the English
header a template file uses. `aliases` are the other headers submitters use (Chinese or English);
they are matched after the same folding as code values (see `codes.fold`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Column types. "money" is stored as exact NUMERIC yuan after unit conversion; "share" is a fraction 0..1;
# "codes" is a list of codes of one code list, stored as text "HP,XH" (sorted, without repeats).
TEXT, CODE, DATE, MONEY, NUMBER, INTEGER, BOOLEAN, SHARE, CODES = (
    "text", "code", "date", "money", "number", "integer", "boolean", "share", "codes",
)

PG_TYPES = {
    TEXT: "text",
    CODE: "text",
    DATE: "date",
    MONEY: "numeric(20,2)",
    NUMBER: "numeric(20,4)",
    INTEGER: "bigint",
    BOOLEAN: "boolean",
    SHARE: "numeric(9,6)",
    CODES: "text",
}

# Classifying code lists are open in the real world (DOMAIN.md, Rules, corrected 2026-11-30): a value
# outside them is published as `other`, with the submitted text kept in `<column>_submitted` and the
# warning `code_unlisted`, and listed for the data stewards (marts.rpt_unmapped_codes). Every other code
# list identifies what a row is or where it counts (district, level, status, facility type, IP type,
# transaction type, buyer region, programme, unit) and stays critical. docs/row_rules.md says why.
OPEN_CODELISTS = frozenset({"field", "institution_type"})


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = False
    codelist: str | None = None
    aliases: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class Kind:
    name: str
    key: str  # the business key: unique within a submission
    columns: tuple[Column, ...]
    doc: str = ""
    yearly_only: bool = False
    # row rules across columns: (rule id, earlier column, later column) meaning earlier <= later
    order_rules: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def derived_columns(self) -> tuple[Column, ...]:
        """Columns the normaliser fills, never read from a file: the submitted text of an unlisted code."""
        return tuple(
            Column(f"{c.name}_submitted", TEXT, doc=f"The submitted {c.name.replace('_', ' ')} when it was not in "
                                                    f"the {c.codelist.replace('_', ' ')} code list (published as other).")
            for c in self.columns if c.type == CODE and c.codelist in OPEN_CODELISTS
        )

    @property
    def contract_columns(self) -> tuple[Column, ...]:
        """The raw table's own columns, in COPY order: the submitted ones, then the derived ones."""
        return self.columns + self.derived_columns

    @property
    def contract_column_names(self) -> list[str]:
        return [c.name for c in self.contract_columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def raw_table(self) -> str:
        return self.name


def _c(name, type_, required=False, codelist=None, aliases=(), doc=""):
    return Column(name, type_, required, codelist, tuple(aliases), doc)


PROJECTS = Kind(
    name="projects",
    key="project_code",
    doc="R&D projects: one row per project per reporting period.",
    columns=(
        _c("project_code", TEXT, True, aliases=["project code", "project id", "项目编号", "项目代码"]),
        _c("title", TEXT, True, aliases=["project title", "project name", "name", "项目名称", "名称"]),
        _c("level", CODE, True, "project_level", ["project level", "项目级别", "级别"]),
        _c("programme", CODE, False, "programme", ["program", "programme name", "计划类别", "所属计划"]),
        _c("field", CODE, True, "field", ["technology field", "sector", "领域", "技术领域", "所属领域", "所属技术领域"]),
        _c("lead_institution", TEXT, True, aliases=["lead institution", "institution", "承担单位", "牵头单位"]),
        _c("institution_type", CODE, False, "institution_type", ["institution type", "单位类型", "单位性质"]),
        _c("district", CODE, True, "district", ["district name", "所在区", "区", "所属区"]),
        _c("start_date", DATE, True, aliases=["start", "start date", "开始日期", "立项日期", "起始日期"]),
        _c("end_date", DATE, False, aliases=["end", "end date", "结束日期", "截止日期", "结题日期", "完成日期"]),
        _c("status", CODE, True, "project_status", ["project status", "项目状态", "状态"]),
        _c("funding_central_yuan", MONEY, False, aliases=["central funding", "funding central", "中央财政资金", "中央财政"]),
        _c("funding_municipal_yuan", MONEY, False, aliases=["municipal funding", "funding municipal", "市级财政资金", "市财政"]),
        _c("funding_district_yuan", MONEY, False, aliases=["district funding", "funding district", "区级财政资金", "区财政"]),
        _c("funding_self_raised_yuan", MONEY, False, aliases=["self-raised funding", "self raised", "funding self raised", "自筹资金", "自筹"]),
        _c("joint_with", CODES, False, "district", ["joint with", "joint project with", "partner district",
                                                    "partner districts", "合作区", "联合申报区", "共建区"],
           doc="A joint project: the partner district(s), e.g. 'Xuhui; 浦东'. A partner may report the project "
               "although it is booked to another district, and its analysts see it."),
    ),
    order_rules=(("start_before_end", "start_date", "end_date"),),
)

FACILITIES = Kind(
    name="facilities",
    key="facility_code",
    doc="Science facilities: major infrastructure, functional platforms, laboratories, instruments, incubators, foreign R&D centres.",
    columns=(
        _c("facility_code", TEXT, True, aliases=["facility code", "facility id", "设施编号", "平台编号", "仪器编号"]),
        _c("name", TEXT, True, aliases=["facility name", "设施名称", "名称", "平台名称", "仪器名称"]),
        _c("facility_type", CODE, True, "facility_type", ["type", "facility type", "设施类型", "类型"]),
        _c("field", CODE, True, "field", ["technology field", "领域", "技术领域", "所属领域", "所属技术领域"]),
        _c("district", CODE, True, "district", ["所在区", "区", "所属区"]),
        _c("host_institution", TEXT, False, aliases=["host", "host institution", "依托单位", "建设单位"]),
        _c("status", CODE, True, "facility_status", ["facility status", "状态", "建设状态"]),
        _c("construction_start_date", DATE, False, aliases=["construction start", "开工日期", "建设开始日期"]),
        _c("operation_start_date", DATE, False, aliases=["operation start", "运行日期", "投入运行日期", "建成日期"]),
        _c("total_investment_yuan", MONEY, False, aliases=["total investment", "investment", "总投资"]),
        _c("original_value_yuan", MONEY, False, aliases=["original value", "仪器原值", "原值"]),
        _c("is_shared", BOOLEAN, False, "boolean", ["shared", "shared on network", "是否共享", "共享"]),
        _c("service_hours", NUMBER, False, aliases=["service hours", "服务机时", "机时"]),
        _c("external_users", INTEGER, False, aliases=["external users", "external users served", "服务外部用户数", "外部用户数"]),
    ),
    order_rules=(("construction_before_operation", "construction_start_date", "operation_start_date"),),
)

PLATFORM_ASSESSMENTS = Kind(
    name="platform_assessments",
    key="platform_code",
    yearly_only=True,
    doc="Yearly contract assessment of a functional platform against the five items of the 2018 guideline.",
    columns=(
        _c("platform_code", TEXT, True, aliases=["platform", "platform code", "facility code", "平台编号"]),
        _c("assessment_year", INTEGER, True, aliases=["year", "assessment year", "考核年度", "年度"]),
        _c("common_tech_services_target", NUMBER, False, aliases=["共性技术服务目标"]),
        _c("common_tech_services_actual", NUMBER, False, aliases=["共性技术服务实际"]),
        _c("commercialisation_target", NUMBER, False, aliases=["commercialization target", "成果转化目标"]),
        _c("commercialisation_actual", NUMBER, False, aliases=["commercialization actual", "成果转化实际"]),
        _c("startups_incubated_target", NUMBER, False, aliases=["孵化企业目标"]),
        _c("startups_incubated_actual", NUMBER, False, aliases=["孵化企业实际"]),
        _c("talent_trained_target", NUMBER, False, aliases=["人才培养目标"]),
        _c("talent_trained_actual", NUMBER, False, aliases=["人才培养实际"]),
        _c("cooperation_target", NUMBER, False, aliases=["university industry cooperation target", "产学研合作目标"]),
        _c("cooperation_actual", NUMBER, False, aliases=["university industry cooperation actual", "产学研合作实际"]),
        _c("score", NUMBER, False, aliases=["assessment score", "考核得分", "得分"]),
        # Item Ten splits the money: operating funds (city S&T plan special fund + district match, the
        # district's not lower than the city's) and construction funds (city special fund for strategic
        # emerging industries, outside the match). The two older column names keep their headers and
        # mean the operating funds; a file without construction_fund_yuan simply has none.
        _c("municipal_fund_yuan", MONEY, False, aliases=[
            "municipal special fund", "municipal fund", "municipal operating fund", "市级专项资金", "市财政资金",
            "市级运营经费"], doc="City operating money that year (S&T plan special fund)."),
        _c("district_match_yuan", MONEY, False, aliases=[
            "district match", "district matching fund", "district operating fund", "区配套资金", "区级配套",
            "区级运营经费"], doc="District operating money that year (must not be lower than the city's)."),
        _c("market_revenue_yuan", MONEY, False, aliases=["market revenue", "self-raised revenue", "市场化收入", "自筹收入"]),
        _c("construction_fund_yuan", MONEY, False, aliases=[
            "construction fund", "municipal construction fund", "市级建设资金", "建设资金"],
            doc="City construction money that year (special fund for strategic emerging industries)."),
        _c("contract_years", INTEGER, False, aliases=["contract period", "contract years", "合同期", "合同年限"],
           doc="Length of the initial contract period in years; three when not stated."),
        _c("funding_change_reason", TEXT, False, aliases=["funding change reason", "经费调整原因", "调整原因"],
           doc="Why this year's fiscal money differs from last year's, when it was changed on purpose."),
    ),
)

IP_TRANSACTIONS = Kind(
    name="ip_transactions",
    key="transaction_code",
    doc="Intellectual property and technology transactions: listings, deals and technology exports.",
    columns=(
        _c("transaction_code", TEXT, True, aliases=["transaction code", "transaction id", "交易编号", "挂牌编号"]),
        _c("listing_date", DATE, True, aliases=["listing date", "listed on", "挂牌日期"]),
        _c("deal_date", DATE, False, aliases=["deal date", "成交日期"]),
        _c("ip_type", CODE, True, "ip_type", ["ip type", "知识产权类型", "类型"]),
        _c("transaction_type", CODE, True, "transaction_type", ["transaction type", "交易类型", "交易方式"]),
        _c("field", CODE, False, "field", ["technology field", "领域", "技术领域", "所属领域", "所属技术领域"]),
        _c("seller", TEXT, True, aliases=["seller name", "转让方", "出让方", "卖方"]),
        _c("seller_type", CODE, False, "institution_type", ["seller type", "转让方类型"]),
        _c("seller_district", CODE, False, "district", ["seller district", "转让方所在区", "所在区"]),
        _c("buyer", TEXT, False, aliases=["buyer name", "受让方", "买方"]),
        _c("buyer_region", CODE, False, "region", ["buyer region", "受让方地区", "受让方所在地"]),
        _c("listed_price_yuan", MONEY, False, aliases=["listed price", "挂牌价格", "挂牌价"]),
        _c("deal_amount_yuan", MONEY, False, aliases=["deal amount", "transaction amount", "成交金额", "交易金额"]),
        _c("net_revenue_yuan", MONEY, False, aliases=["net revenue", "净收入"]),
        _c("inventor_award_share", SHARE, False, aliases=["award share", "inventor share", "奖励比例", "发明人奖励比例"]),
    ),
    order_rules=(("listing_before_deal", "listing_date", "deal_date"),),
)

KINDS: dict[str, Kind] = {k.name: k for k in (PROJECTS, FACILITIES, PLATFORM_ASSESSMENTS, IP_TRANSACTIONS)}

# Lineage columns every raw table carries, before the kind's own columns.
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("submission_id", "bigint not null"),
    ("load_id", "bigint not null"),
    ("source_row_number", "integer not null"),
)
TRAILING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("row_warnings", "text[] not null default '{}'"),
)

# Who may send what. Districts report their own projects, facilities and the platforms they co-fund;
# each agency reports what it administers. Periods: a year ("2018") or a quarter ("2018Q4"),
# except for kinds that are assessed once a year.
DISTRICT_KINDS = frozenset({"projects", "facilities", "platform_assessments"})
AGENCY_KINDS: dict[str, frozenset[str]] = {
    "STCSM": frozenset({"projects", "facilities", "platform_assessments"}),
    "SHEITC": frozenset({"projects", "facilities"}),
    "SHDRC": frozenset({"projects", "facilities"}),
    "SHFB": frozenset({"platform_assessments"}),
    "SHIPA": frozenset({"ip_transactions"}),
    "SHTO": frozenset({"projects"}),
    "SSTIC": frozenset({"projects", "facilities"}),
    "SIPTC": frozenset({"ip_transactions"}),
    "YRDN": frozenset({"facilities"}),
}

PERIOD_RE = re.compile(r"^(?P<year>20\d\d)(?:Q(?P<quarter>[1-4]))?$")
FIRST_YEAR, LAST_YEAR = 2014, 2030


class SubmissionRuleError(ValueError):
    """A submission's submitter, kind or period is not one the warehouse accepts."""


def allowed_kinds(submitter: str) -> frozenset[str]:
    from stic.contract import codes

    if submitter in codes.codes("district"):
        return DISTRICT_KINDS
    return AGENCY_KINDS.get(submitter, frozenset())


def check_submission(submitter: str, kind: str, period: str) -> None:
    """Raise SubmissionRuleError unless this submitter may send this kind for this period."""
    from stic.contract import codes

    known = set(codes.codes("district")) | set(AGENCY_KINDS)
    if submitter not in known:
        raise SubmissionRuleError(
            f"unknown submitter {submitter!r}: expected a district code ({', '.join(sorted(codes.codes('district')))}) "
            f"or an agency code ({', '.join(sorted(AGENCY_KINDS))})"
        )
    if kind not in KINDS:
        raise SubmissionRuleError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    if kind not in allowed_kinds(submitter):
        raise SubmissionRuleError(
            f"submitter {submitter} may not send {kind!r}; it may send: {', '.join(sorted(allowed_kinds(submitter)))}"
        )
    m = PERIOD_RE.match(period or "")
    if not m:
        raise SubmissionRuleError(f"period {period!r} is not a year (2018) or a quarter (2018Q4)")
    if not FIRST_YEAR <= int(m["year"]) <= LAST_YEAR:
        raise SubmissionRuleError(f"period {period!r} is outside {FIRST_YEAR}–{LAST_YEAR}")
    if KINDS[kind].yearly_only and m["quarter"]:
        raise SubmissionRuleError(f"{kind} are assessed once a year: period must be a year, not {period!r}")


def period_year(period: str) -> int:
    return int(PERIOD_RE.match(period)["year"])


def period_end(period: str):
    """The last day of a reporting period: 2018 -> 2018-12-31, 2018Q1 -> 2018-03-31 (ValueError otherwise)."""
    import datetime as dt

    m = PERIOD_RE.match(period or "")
    if not m:
        raise ValueError(f"period {period!r} is not a year (2018) or a quarter (2018Q4)")
    year, quarter = int(m["year"]), m["quarter"]
    if not quarter:
        return dt.date(year, 12, 31)
    month = 3 * int(quarter)
    return (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1))
