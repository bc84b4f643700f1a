"""Suite for marts.fct_project_funding, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.fct_project_funding"
KEY = ["project_funding_id"]
COLUMNS = [
    "project_funding_id",
    "project_code",
    "funding_source",
    "district_code",
    "field_code",
    "submitter_code",
    "submission_id",
    "project_level",
    "start_date",
    "amount_yuan",
]


def build_suite():
    suite = mart_suite("marts_fct_project_funding", TABLE, KEY, COLUMNS)
    return suite
