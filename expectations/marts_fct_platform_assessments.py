"""Suite for marts.fct_platform_assessments, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.fct_platform_assessments"


def build_suite():
    suite = mart_suite(TABLE)
    return suite
