"""Suite for marts.fct_ip_transactions, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, WARNING, add, mart_suite

TABLE = "marts.fct_ip_transactions"


def build_suite():
    suite = mart_suite(TABLE)
    add(
        suite,
        gxe.ExpectColumnValuesToBeBetween(column="inventor_award_share", min_value=0, max_value=1),
        CRITICAL,
        "share_range",
        "The inventors' award share is between 0 and 1.",
    )
    add(
        suite,
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query="select * from {batch} where inventor_award_share < 0.7 "
            "and transaction_type in ('transfer', 'license') and seller_type in ('university', 'research_institute')"),
        WARNING,
        "award_share_below_floor",
        "Transfers and licences by universities and research institutes award at least 70 percent (2017 Rules).",
    )
    return suite
