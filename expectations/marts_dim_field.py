"""Suite for marts.dim_field, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.dim_field"
KEY = ["field_code"]
COLUMNS = ["field_code", "field_name_en", "field_name_zh"]


def build_suite():
    suite = mart_suite("marts_dim_field", TABLE, KEY, COLUMNS)
    return suite
