"""Suite for marts.dim_ip_type, run after each warehouse build: one row per IP type, labelled in both languages."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, add, mart_suite

TABLE = "marts.dim_ip_type"
KEY = ["ip_type_code"]
COLUMNS = ["ip_type_code", "name_en", "name_zh"]


def build_suite():
    suite = mart_suite("marts_dim_ip_type", TABLE, KEY, COLUMNS)
    for col in ("name_en", "name_zh"):
        add(suite, gxe.ExpectColumnValuesToNotBeNull(column=col), CRITICAL, "labels",
            f"Every IP type has its {col.replace('_', ' ')} (from include/stic/contract/reference/codelists.yml).")
    return suite
