"""The daily overdue check through real Airflow (`airflow dags test`): it fails, naming who is late, on the day
something becomes overdue, and succeeds on a day nothing does."""

from __future__ import annotations

import subprocess

import pytest


def _dags_test(day: str) -> subprocess.CompletedProcess:
    from stic.config import settings
    from stic.ops import airflow_env

    return subprocess.run([airflow_env.airflow_bin(), "dags", "test", "check_submission_calendar", day],
                          env=airflow_env.env(settings().warehouse_url), capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_the_daily_check_names_what_became_overdue(airflow_home, clean_warehouse):
    from stic.warehouse import dbt_runner as dbt

    dbt.run(["build", "--select", "+rpt_submission_calendar", "--indirect-selection", "cautious"], quiet=True)
    # 2018's yearly submissions were due 31 March 2019; with 14 grace days they are overdue from 15 April.
    late = _dags_test("2019-04-15")
    out = late.stdout + late.stderr
    assert "HP projects 2018: due 2019-03-31, overdue from 2019-04-15, nothing published" in out, out[-3000:]
    assert "newly overdue" in out and ("state=failed" in out or late.returncode != 0)
    quiet = _dags_test("2019-04-20")
    out = quiet.stdout + quiet.stderr
    assert quiet.returncode == 0 and "state=failed" not in out and "newly overdue" not in out, out[-3000:]
