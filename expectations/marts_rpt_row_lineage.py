"""Suite for marts.rpt_row_lineage (auditors only), run after each warehouse build: a fact row's source row."""

import great_expectations.expectations as gxe
from _common import CRITICAL, add, mart_suite

TABLE = "marts.rpt_row_lineage"
KEY = ["lineage_row_id"]
COLUMNS = ["lineage_row_id", "submission_kind", "business_key", "submission_id", "source_row_number"]


def build_suite():
    suite = mart_suite("marts_rpt_row_lineage", TABLE, KEY, COLUMNS)
    for col in ("submission_id", "source_row_number", "sha256"):
        add(suite, gxe.ExpectColumnValuesToNotBeNull(column=col), CRITICAL, "lineage",
            f"Every lineage row names its {col.replace('_', ' ')}.")
    return suite
