"""Suite for marts.rpt_reporting_conflicts, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.rpt_reporting_conflicts"


def build_suite():
    suite = mart_suite(TABLE)
    return suite
