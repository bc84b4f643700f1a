"""Suite for marts.dim_programme, run after each warehouse build: one row per programme, labelled in both languages."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, add, mart_suite

TABLE = "marts.dim_programme"
KEY = ["programme_code"]
COLUMNS = ["programme_code", "name_en", "name_zh"]


def build_suite():
    suite = mart_suite("marts_dim_programme", TABLE, KEY, COLUMNS)
    for col in ("name_en", "name_zh"):
        add(suite, gxe.ExpectColumnValuesToNotBeNull(column=col), CRITICAL, "labels",
            f"Every programme has its {col.replace('_', ' ')} (from include/stic/contract/reference/codelists.yml).")
    return suite
