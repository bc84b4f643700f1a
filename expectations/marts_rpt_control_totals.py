"""Suite for marts.rpt_control_totals, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, WARNING, add, mart_suite

TABLE = "marts.rpt_control_totals"


def build_suite():
    suite = mart_suite(TABLE)
    add(
        suite,
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query="select * from {batch} where comparison = 'exact' and tolerance <> 0"
        ),
        CRITICAL,
        "exact_has_no_tolerance",
        "A figure published as exact is reconciled without tolerance.",
    )
    add(
        suite,
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=["match", "within_tolerance"]),
        WARNING,
        "control_totals",
        "The warehouse reproduces each published figure (match or within tolerance).",
    )
    add(
        suite,
        gxe.ExpectTableRowCountToBeBetween(min_value=17),
        CRITICAL,
        "control_totals_complete",
        "Every published figure of DOMAIN.md is reconciled.",
    )
    return suite
