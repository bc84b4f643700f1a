"""Suite for marts.fct_ip_transactions, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, WARNING, add, mart_suite

TABLE = "marts.fct_ip_transactions"
KEY = ["transaction_code"]
COLUMNS = [
    "transaction_code",
    "submitter_code",
    "submission_id",
    "field_code",
    "seller_district_code",
    "ip_type",
    "transaction_type",
    "seller_name",
    "seller_type",
    "buyer_name",
    "buyer_region",
    "inventor_award_share",
    "row_warnings",
    "reporting_period",
    "listing_date",
    "deal_date",
    "listed_price_yuan",
    "deal_amount_yuan",
    "net_revenue_yuan",
    "published_at",
]


def build_suite():
    suite = mart_suite("marts_fct_ip_transactions", TABLE, KEY, COLUMNS)
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
