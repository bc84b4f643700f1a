"""Suite for marts.fct_ip_transactions_history, run after each warehouse build: the versions of each IP transaction as reported.

The history keeps the versions of superseded submissions on purpose (they are what was reported then), so it does
not get the marts' published-only check; instead, a transaction's current version must come from a published
submission, every version's submission must be in the ledger, and a transaction's versions must follow one another
without overlapping (so that "as reported at T" finds at most one)."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, add, mart_suite

TABLE = "marts.fct_ip_transactions_history"
KEY = "transaction_code"


def build_suite():
    # A version is a transaction code from a time on: the contract keys it by the snapshot's id instead.
    suite = mart_suite(TABLE, key=[KEY, "valid_from"], published_only=False)
    add(suite, gxe.UnexpectedRowsExpectation(
        unexpected_rows_query="select * from {batch} where is_current and submission_id not in "
                              "(select submission_id from audit.submissions where status = 'published')"),
        CRITICAL, "published_only", "A transaction's current version comes from a published (validated, not superseded) submission.")
    add(suite, gxe.UnexpectedRowsExpectation(
        unexpected_rows_query="select * from {batch} where submission_id not in (select submission_id from audit.submissions)"),
        CRITICAL, "lineage", "Every version's submission is in the ledger (audit.submissions).")
    add(suite, gxe.UnexpectedRowsExpectation(
        unexpected_rows_query="select * from {batch} where is_current is distinct from (valid_to is null) "
                              "or valid_to <= valid_from"),
        CRITICAL, "history_validity", "A version ends after it starts, and only the version without an end is current.")
    add(suite, gxe.UnexpectedRowsExpectation(
        unexpected_rows_query=f"select * from (select *, lead(valid_from) over (partition by {KEY} order by valid_from) "
                              "as next_valid_from from {batch}) as versions "
                              "where next_valid_from is not null and (valid_to is null or valid_to > next_valid_from)"),
        CRITICAL, "history_validity", "A transaction's versions do not overlap: each ends before the next begins.")
    return suite
