"""Suite for marts.fct_platform_funding, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.fct_platform_funding"
KEY = ["platform_funding_id"]
COLUMNS = [
    "platform_funding_id",
    "platform_code",
    "assessment_year",
    "funding_source",
    "district_code",
    "submitter_code",
    "submission_id",
    "amount_yuan",
]


def build_suite():
    suite = mart_suite("marts_fct_platform_funding", TABLE, KEY, COLUMNS)
    return suite
