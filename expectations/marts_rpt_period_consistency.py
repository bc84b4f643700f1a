"""Suite for marts.rpt_period_consistency, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import WARNING, add, mart_suite

TABLE = "marts.rpt_period_consistency"
KEY = ["period_finding_id"]
COLUMNS = [
    "period_finding_id",
    "submission_kind",
    "business_key",
    "submitter_code",
    "submission_id",
    "rule_code",
    "finding_code",
    "severity",
    "finding_detail",
    "guideline_text",
    "reporting_period",
    "row_status",
    "checked_date",
]


def build_suite():
    suite = mart_suite("marts_rpt_period_consistency", TABLE, KEY, COLUMNS)
    add(suite, gxe.ExpectTableRowCountToEqual(value=0), WARNING, "period_consistency",
        "Rows agree with their reporting period (completed, in operation and start dates).")
    return suite
