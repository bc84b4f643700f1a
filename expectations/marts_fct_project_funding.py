"""Suite for marts.fct_project_funding, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.fct_project_funding"


def build_suite():
    suite = mart_suite(TABLE)
    return suite
