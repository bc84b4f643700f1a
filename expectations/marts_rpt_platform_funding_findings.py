"""Suite for marts.rpt_platform_funding_findings, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import WARNING, add, mart_suite

TABLE = "marts.rpt_platform_funding_findings"
RULES = {
    "item_ten_funds": "A platform's district operating money is not lower than the city's (2018 guideline, Item Ten).",
    "item_ten_diminishing": "Fiscal operating money and its share do not rise after the initial contract "
                            "(2018 guideline, Item Ten: constant at the beginning, diminishing later on).",
    "item_twelve": "Assessment results are linked with fiscal money the next year (2018 guideline, Item Twelve).",
}


def build_suite():
    suite = mart_suite(TABLE)
    for rule, text in RULES.items():
        add(suite, gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=f"select * from {{batch}} where rule_code = '{rule}' and severity <> 'info'"),
            WARNING, rule, text)
    return suite
