"""Suite for marts.dim_submitter, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.dim_submitter"


def build_suite():
    suite = mart_suite(TABLE)
    return suite
