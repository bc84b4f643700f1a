"""Suite for marts.fct_ip_transactions_history, run after each warehouse build: the versions of each IP transaction as reported
(the checks every history mart gets: `_common.history_suite`)."""

from ._common import history_suite

TABLE = "marts.fct_ip_transactions_history"


def build_suite():
    return history_suite(TABLE, "transaction_code", "transaction")
