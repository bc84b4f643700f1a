"""Suite for marts.fct_technology_exports, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.fct_technology_exports"


def build_suite():
    suite = mart_suite(TABLE)
    return suite
