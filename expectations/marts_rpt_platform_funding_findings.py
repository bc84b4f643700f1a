"""Suite for marts.rpt_platform_funding_findings, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import WARNING, add, mart_suite

TABLE = "marts.rpt_platform_funding_findings"
KEY = ["platform_finding_id"]
COLUMNS = [
    "platform_finding_id",
    "platform_code",
    "assessment_year",
    "compared_year",
    "district_code",
    "submission_id",
    "rule_code",
    "finding_code",
    "severity",
    "finding_detail",
    "guideline_text",
    "platform_start_date",
    "platform_year_number",
    "contract_years",
    "assessment_score",
    "targets_missed_count",
    "municipal_fund_yuan",
    "district_match_yuan",
    "construction_fund_yuan",
    "fiscal_operating_yuan",
    "compared_fiscal_operating_yuan",
    "fiscal_share",
    "compared_fiscal_share",
]
RULES = {
    "item_ten_funds": "A platform's district operating money is not lower than the city's (2018 guideline, Item Ten).",
    "item_ten_diminishing": "Fiscal operating money and its share do not rise after the initial contract "
                            "(2018 guideline, Item Ten: constant at the beginning, diminishing later on).",
    "item_twelve": "Assessment results are linked with fiscal money the next year (2018 guideline, Item Twelve).",
}


def build_suite():
    suite = mart_suite("marts_rpt_platform_funding_findings", TABLE, KEY, COLUMNS)
    for rule, text in RULES.items():
        add(suite, gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=f"select * from {{batch}} where rule_code = '{rule}' and severity <> 'info'"),
            WARNING, rule, text)
    return suite
