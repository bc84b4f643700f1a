"""Suite for marts.rpt_innovation_indicators, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.rpt_innovation_indicators"


def build_suite():
    suite = mart_suite(TABLE)
    return suite
