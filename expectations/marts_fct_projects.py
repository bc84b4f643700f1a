"""Suite for marts.fct_projects, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, add, mart_suite

TABLE = "marts.fct_projects"


def build_suite():
    suite = mart_suite(TABLE)
    add(
        suite,
        gxe.ExpectColumnValuesToBeBetween(column="funding_total_yuan", min_value=0),
        CRITICAL,
        "amount_non_negative",
        "Total funding is not negative.",
    )
    return suite
