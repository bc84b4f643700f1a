"""Suite for marts.rpt_row_lineage (auditors only), run after each warehouse build: a fact row's source row.

The trail keeps every loaded row, superseded submissions' included, so it does not get the marts' published-only
check; instead, a row it shows as in a mart must come from a published submission, and every row's submission
must be in the ledger."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, add, mart_suite

TABLE = "marts.rpt_row_lineage"


def build_suite():
    suite = mart_suite(TABLE, published_only=False)
    add(suite, gxe.UnexpectedRowsExpectation(
        unexpected_rows_query="select * from {batch} where is_in_mart and submission_id not in "
                              "(select submission_id from audit.submissions where status = 'published')"),
        CRITICAL, "published_only", "A row shown as in a mart comes from a published (validated, not superseded) submission.")
    add(suite, gxe.UnexpectedRowsExpectation(
        unexpected_rows_query="select * from {batch} where submission_id not in (select submission_id from audit.submissions)"),
        CRITICAL, "lineage", "Every lineage row's submission is in the ledger (audit.submissions).")
    for col in ("submission_id", "source_row_number", "sha256"):
        add(suite, gxe.ExpectColumnValuesToNotBeNull(column=col), CRITICAL, "lineage",
            f"Every lineage row names its {col.replace('_', ' ')}.")
    return suite
