"""Suite for marts.rpt_reporting_conflicts, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.rpt_reporting_conflicts"
KEY = ["conflict_id"]
COLUMNS = [
    "conflict_id",
    "submission_kind",
    "business_key",
    "canonical_submitter_code",
    "canonical_submission_id",
    "submitter_codes",
    "submitter_count",
    "version_count",
]


def build_suite():
    suite = mart_suite("marts_rpt_reporting_conflicts", TABLE, KEY, COLUMNS)
    return suite
