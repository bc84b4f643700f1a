"""Suite for marts.dim_date, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.dim_date"


def build_suite():
    suite = mart_suite(TABLE)
    return suite
