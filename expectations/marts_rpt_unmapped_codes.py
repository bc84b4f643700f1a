"""Suite for marts.rpt_unmapped_codes, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, add, mart_suite

TABLE = "marts.rpt_unmapped_codes"
KEY = ["unmapped_code_id"]
COLUMNS = [
    "unmapped_code_id",
    "submitter_code",
    "submission_kind",
    "column_name",
    "submitted_value",
    "published_as",
    "row_count",
    "published_row_count",
    "submission_count",
    "first_seen_at",
    "last_seen_at",
]


def build_suite():
    suite = mart_suite("marts_rpt_unmapped_codes", TABLE, KEY, COLUMNS)
    add(suite, gxe.ExpectColumnValuesToBeInSet(column="column_name", value_set=["field", "institution_type", "seller_type"]),
        CRITICAL, "code_list", "Only classifying code columns are listed; identifying codes stay critical.")
    add(suite, gxe.ExpectColumnValuesToBeBetween(column="row_count", min_value=1), CRITICAL, "row_count",
        "Every listed value was submitted at least once.")
    return suite
