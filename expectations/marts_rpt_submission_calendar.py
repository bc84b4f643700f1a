"""Suite for marts.rpt_submission_calendar, run after each warehouse build: one row per expected submission."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, add, mart_suite

TABLE = "marts.rpt_submission_calendar"
STATES = ["received", "late", "missing", "nil_declared", "not_due", "in_progress"]


def build_suite():
    suite = mart_suite(TABLE)
    add(suite, gxe.ExpectColumnValuesToBeInSet(column="calendar_state", value_set=STATES), CRITICAL, "calendar_state",
        "Every expected submission is received, late, missing, declared nil, not yet due or in progress.")
    return suite
