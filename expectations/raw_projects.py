"""Suite for each new batch of raw.projects, run before the submission is published."""


from stic.contract.kinds import PROJECTS

from ._common import WARNING, raw_kind_suite, row_rule, submitter_rules

TABLE = "raw.projects"


def build_suite():
    suite = raw_kind_suite(PROJECTS, "raw_projects")
    submitter_rules(suite, PROJECTS)
    row_rule(suite, "status = 'completed' and end_date is null",
        WARNING, "completed_without_end", "A completed project states its end date.")
    return suite
