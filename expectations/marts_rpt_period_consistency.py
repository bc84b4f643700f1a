"""Suite for marts.rpt_period_consistency, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import WARNING, add, mart_suite

TABLE = "marts.rpt_period_consistency"


def build_suite():
    suite = mart_suite(TABLE)
    add(suite, gxe.ExpectTableRowCountToEqual(value=0), WARNING, "period_consistency",
        "Rows agree with their reporting period (completed, in operation and start dates).")
    return suite
