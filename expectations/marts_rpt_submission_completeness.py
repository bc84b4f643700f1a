"""Suite for marts.rpt_submission_completeness, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.rpt_submission_completeness"


def build_suite():
    suite = mart_suite(TABLE)
    return suite
