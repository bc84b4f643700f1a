"""Suite for each new batch of raw.ip_transactions, run before the submission is published."""

import great_expectations.expectations as gxe
from _common import WARNING, add, raw_kind_suite, submitter_rules

from stic.kinds import IP_TRANSACTIONS


def build_suite():
    suite = raw_kind_suite(IP_TRANSACTIONS, "raw_ip_transactions")
    submitter_rules(suite, IP_TRANSACTIONS)
    add(suite, gxe.ExpectColumnValuesToBeBetween(column="inventor_award_share", max_value=0.7), WARNING,
        "award_share_high",
        "Up to 70 percent of net revenue from a transfer is awarded to the inventors and their team (2019 briefing); "
        "a higher share is checked.")
    add(suite, gxe.UnexpectedRowsExpectation(
        unexpected_rows_query="select * from {batch} where deal_amount_yuan is not null and deal_date is null"),
        WARNING, "amount_without_deal_date", "A deal amount comes with its deal date.")
    return suite
