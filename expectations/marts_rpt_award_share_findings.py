"""Suite for marts.rpt_award_share_findings, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import WARNING, add, mart_suite

TABLE = "marts.rpt_award_share_findings"


def build_suite():
    suite = mart_suite(TABLE)
    add(
        suite,
        gxe.ExpectTableRowCountToEqual(value=0),
        WARNING,
        "award_share_floor",
        "Transfers and licences by universities and research institutes award their inventors at least 70 percent "
        "of net revenue (2019 briefing; 2017 Rules for the Promotion of Transfer of S&T Achievements).",
    )
    return suite
