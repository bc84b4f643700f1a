"""Suite for marts.rpt_control_totals, run after each warehouse build."""

import great_expectations.expectations as gxe
from _common import CRITICAL, WARNING, add, mart_suite

TABLE = "marts.rpt_control_totals"
KEY = ["figure_code"]
COLUMNS = [
    "figure_code",
    "figure",
    "as_of",
    "comparison",
    "published_value",
    "warehouse_value",
    "tolerance",
    "difference",
    "status",
]


def build_suite():
    suite = mart_suite("marts_rpt_control_totals", TABLE, KEY, COLUMNS)
    add(
        suite,
        gxe.ExpectColumnValuesToBeInSet(column="status", value_set=["match", "within_tolerance"]),
        WARNING,
        "control_totals",
        "The warehouse reproduces each published figure (match or within tolerance).",
    )
    add(
        suite,
        gxe.ExpectTableRowCountToBeBetween(min_value=13),
        CRITICAL,
        "control_totals_complete",
        "Every published figure of DOMAIN.md is reconciled.",
    )
    return suite
