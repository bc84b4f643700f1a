"""Suite for marts.dim_institution, run after each warehouse build: one row per normalised institution name."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, add, mart_suite

TABLE = "marts.dim_institution"


def build_suite():
    suite = mart_suite(TABLE)
    add(suite, gxe.ExpectColumnValuesToBeUnique(column="normalised_name"), CRITICAL, "primary_key",
        "One row per normalised institution name.")
    add(suite, gxe.ExpectColumnValuesToNotBeNull(column="institution_name"), CRITICAL, "labels",
        "Every institution has the name it was reported under.")
    return suite
