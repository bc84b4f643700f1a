"""Suite for marts.fct_projects, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, add, mart_suite

TABLE = "marts.fct_projects"
KEY = ["project_code"]
COLUMNS = [
    "project_code",
    "district_code",
    "field_code",
    "submitter_code",
    "submission_id",
    "project_title",
    "project_level",
    "programme_code",
    "lead_institution_name",
    "lead_institution_type",
    "project_status",
    "reporting_period",
    "start_date",
    "end_date",
    "funding_central_yuan",
    "funding_municipal_yuan",
    "funding_district_yuan",
    "funding_self_raised_yuan",
    "funding_total_yuan",
]


def build_suite():
    suite = mart_suite("marts_fct_projects", TABLE, KEY, COLUMNS)
    add(
        suite,
        gxe.ExpectColumnValuesToBeBetween(column="funding_total_yuan", min_value=0),
        CRITICAL,
        "amount_non_negative",
        "Total funding is not negative.",
    )
    return suite
