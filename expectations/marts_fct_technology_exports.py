"""Suite for marts.fct_technology_exports, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.fct_technology_exports"
KEY = ["transaction_code"]
COLUMNS = [
    "transaction_code",
    "submitter_code",
    "submission_id",
    "field_code",
    "seller_district_code",
    "ip_type",
    "seller_name",
    "buyer_name",
    "buyer_region",
    "is_yangtze_delta_buyer",
    "listing_date",
    "deal_date",
    "deal_amount_yuan",
]


def build_suite():
    suite = mart_suite("marts_fct_technology_exports", TABLE, KEY, COLUMNS)
    return suite
