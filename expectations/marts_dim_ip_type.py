"""Suite for marts.dim_ip_type, run after each warehouse build: one row per IP type, labelled in both languages."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, add, mart_suite

TABLE = "marts.dim_ip_type"


def build_suite():
    suite = mart_suite(TABLE)
    for col in ("name_en", "name_zh"):
        add(suite, gxe.ExpectColumnValuesToNotBeNull(column=col), CRITICAL, "labels",
            f"Every IP type has its {col.replace('_', ' ')} (from include/stic/contract/reference/codelists.yml).")
    return suite
