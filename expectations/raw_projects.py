"""Suite for each new batch of raw.projects, run before the submission is published."""

import great_expectations.expectations as gxe

from stic.contract.kinds import PROJECTS

from ._common import WARNING, add, raw_kind_suite, submitter_rules

TABLE = "raw.projects"


def build_suite():
    suite = raw_kind_suite(PROJECTS, "raw_projects")
    submitter_rules(suite, PROJECTS)
    add(suite, gxe.UnexpectedRowsExpectation(
        unexpected_rows_query="select * from {batch} where status = 'completed' and end_date is null"),
        WARNING, "completed_without_end", "A completed project states its end date.")
    return suite
