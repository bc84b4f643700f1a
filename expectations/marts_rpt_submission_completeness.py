"""Suite for marts.rpt_submission_completeness, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.rpt_submission_completeness"
KEY = ["completeness_id"]
COLUMNS = [
    "completeness_id",
    "submitter_code",
    "submission_kind",
    "reporting_year",
    "is_expected",
    "completeness_status",
    "submissions_received",
    "submissions_published",
    "submissions_rejected",
    "submissions_superseded",
    "submissions_duplicate",
    "last_received_at",
]


def build_suite():
    suite = mart_suite("marts_rpt_submission_completeness", TABLE, KEY, COLUMNS)
    return suite
