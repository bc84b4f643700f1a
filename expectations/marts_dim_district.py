"""Suite for marts.dim_district, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, add, mart_suite

TABLE = "marts.dim_district"
KEY = ["district_code"]
COLUMNS = ["district_code", "district_name_en", "district_name_zh"]


def build_suite():
    suite = mart_suite("marts_dim_district", TABLE, KEY, COLUMNS)
    add(
        suite,
        gxe.ExpectTableRowCountToEqual(value=16),
        CRITICAL,
        "all_districts",
        "All 16 districts are present.",
    )
    return suite
