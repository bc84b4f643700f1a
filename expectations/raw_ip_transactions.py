"""Suite for each new batch of raw.ip_transactions, run before the submission is published."""


from stic.contract.kinds import IP_TRANSACTIONS

from ._common import WARNING, raw_kind_suite, row_rule, submitter_rules


def build_suite():
    suite = raw_kind_suite(IP_TRANSACTIONS, "raw_ip_transactions")
    submitter_rules(suite, IP_TRANSACTIONS)
    row_rule(suite, "inventor_award_share < 0.7 "
        "and transaction_type in ('transfer', 'license') and seller_type in ('university', 'research_institute')",
        WARNING, "award_share_below_floor",
        "On a transfer or licence by a university or research institute, at least 70 percent of the net revenue is "
        "awarded to the inventors and their team (Rules for the Promotion of Transfer of S&T Achievements, 2017).")
    row_rule(suite, "deal_amount_yuan is not null and deal_date is null",
        WARNING, "amount_without_deal_date", "A deal amount comes with its deal date.")
    return suite
