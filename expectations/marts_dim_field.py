"""Suite for marts.dim_field, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.dim_field"


def build_suite():
    suite = mart_suite(TABLE)
    return suite
