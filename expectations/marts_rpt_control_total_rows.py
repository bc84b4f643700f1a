"""Suite for marts.rpt_control_total_rows, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.rpt_control_total_rows"


def build_suite():
    suite = mart_suite(TABLE)
    return suite
