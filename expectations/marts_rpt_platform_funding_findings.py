"""Suite for marts.rpt_platform_funding_findings, run after each warehouse build."""

import great_expectations.expectations as gxe
from _common import WARNING, add, mart_suite

TABLE = "marts.rpt_platform_funding_findings"
KEY = ["platform_finding_id"]
COLUMNS = [
    "platform_finding_id",
    "platform_code",
    "assessment_year",
    "district_code",
    "finding_code",
    "severity",
    "finding_detail",
    "municipal_share",
    "previous_municipal_share",
    "municipal_fund_yuan",
    "district_match_yuan",
]


def build_suite():
    suite = mart_suite("marts_rpt_platform_funding_findings", TABLE, KEY, COLUMNS)
    add(
        suite,
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query="select * from {batch} where finding_code = 'district_match_below_municipal'"
        ),
        WARNING,
        "district_match_below_municipal",
        "District operational funding of a functional platform is not lower than the municipal funding "
        "(2018 guideline, Item Ten).",
    )
    add(
        suite,
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query="select * from {batch} where finding_code = 'municipal_share_rising'"
        ),
        WARNING,
        "municipal_share_rising",
        "Fiscal funding of a platform diminishes over time: its municipal share does not rise after year three.",
    )
    return suite
