"""Suite for marts.rpt_control_total_rows, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.rpt_control_total_rows"
KEY = ["control_total_row_id"]
COLUMNS = [
    "control_total_row_id",
    "figure_code",
    "source_kind",
    "business_key",
    "submitter_code",
    "submission_id",
    "counted_date",
    "counted_value",
]


def build_suite():
    suite = mart_suite("marts_rpt_control_total_rows", TABLE, KEY, COLUMNS)
    return suite
