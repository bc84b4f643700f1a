"""Suite for each new batch of raw.platform_assessments, run before the submission is published."""

import great_expectations.expectations as gxe

from stic.contract.kinds import PLATFORM_ASSESSMENTS

from ._common import CRITICAL, WARNING, add, raw_kind_suite, row_rule


def build_suite():
    suite = raw_kind_suite(PLATFORM_ASSESSMENTS, "raw_platform_assessments")
    add(suite, gxe.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=100), CRITICAL, "score_range",
        "An assessment score is between 0 and 100.")
    row_rule(suite, "district_match_yuan < municipal_fund_yuan",
        WARNING, "district_match_below_municipal",
        "District operational funding of a functional platform is not lower than the municipal funding "
        "(2018 guideline, Item Ten).")
    return suite
