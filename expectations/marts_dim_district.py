"""Suite for marts.dim_district, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, add, mart_suite

TABLE = "marts.dim_district"


def build_suite():
    suite = mart_suite(TABLE)
    add(
        suite,
        gxe.ExpectTableRowCountToEqual(value=16),
        CRITICAL,
        "all_districts",
        "All 16 districts are present.",
    )
    return suite
