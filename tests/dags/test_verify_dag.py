"""The nightly verification through real Airflow (`airflow dags test verify_warehouse`): it runs the tests the
builds leave out (the ranking views', tag nightly) and fails naming the one that found something."""

from __future__ import annotations

import subprocess

import pytest

from stic import pipeline
from tests.conftest import FIXTURES


@pytest.mark.slow
def test_the_nightly_run_fails_naming_the_view_test_a_build_leaves_out(airflow_home, clean_warehouse):
    from stic.config import settings
    from stic.ops import airflow_env
    from stic.warehouse import dbt_runner as dbt

    out = pipeline.ingest_file(FIXTURES / "pipeline" / "projects_ok.csv", submitter="PD", kind="projects",
                               period="2018")
    assert out.status == "published"
    # P-OK-1 twice in the same load: only the view's unique (submission_id, project_code) test can see it
    clean_warehouse.execute("create temp table dup as select * from raw.projects where project_code = 'P-OK-1'")
    clean_warehouse.execute("update dup set source_row_number = source_row_number + 1000")
    clean_warehouse.execute("insert into raw.projects select * from dup")
    dbt.run(["build", "--exclude", "resource_type:unit_test"], quiet=True)  # passes: the build leaves it out

    run = subprocess.run([airflow_env.airflow_bin(), "dags", "test", "verify_warehouse", "2026-12-01"],
                         env=airflow_env.env(settings().warehouse_url), capture_output=True, text=True, timeout=900)
    log = run.stdout + run.stderr
    assert "state=failed" in log or run.returncode != 0, log[-3000:]
    assert "unique_combination_int_projects_reported_submission_id__project_code: fail" in log, log[-3000:]
