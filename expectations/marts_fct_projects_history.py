"""Suite for marts.fct_projects_history, run after each warehouse build: the versions of each project as reported
(the checks every history mart gets: `_common.history_suite`)."""

from ._common import history_suite

TABLE = "marts.fct_projects_history"


def build_suite():
    return history_suite(TABLE, "project_code", "project")
