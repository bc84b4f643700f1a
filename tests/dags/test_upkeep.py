"""Upkeep of a pipeline that runs for years: `airflow db clean` in maintain_warehouse, and the README's
backfill command run as written (Airflow 3's `airflow backfill create`), both against a real Airflow home."""

from __future__ import annotations

import re
import sqlite3
import subprocess

import pytest

from tests.dags.conftest import ROOT, run_python

PROBE_DAG = '''
from datetime import datetime

from _stic_common import DEFAULT_ARGS
from airflow.sdk import dag, task


@dag(schedule=None, start_date=datetime(2026, 1, 1), default_args=DEFAULT_ARGS, tags=["stic"])
def stic_upkeep_probe():
    @task
    def noop():
        return 1

    noop()


stic_upkeep_probe()
'''

RUN_PROBE = """
import os
from airflow.dag_processing.dagbag import DagBag
dag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).get_dag("stic_upkeep_probe")
print("RESULT", dag.test().state)
"""


def _count(home, sql: str, params=()) -> int:
    with sqlite3.connect(home / "airflow.db") as c:
        return c.execute(sql, params).fetchone()[0]


def _airflow(args: list[str], env_extra: dict | None = None) -> subprocess.CompletedProcess:
    from stic.ops import airflow_env

    env = {**airflow_env.env(), **(env_extra or {})}
    return subprocess.run([airflow_env.airflow_bin(), *args], env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_maintain_warehouse_cleans_the_airflow_metadata_past_the_retention(airflow_home, tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "stic_upkeep_probe.py").write_text(PROBE_DAG)
    proc = run_python(RUN_PROBE, {"AIRFLOW__CORE__DAGS_FOLDER": str(dags)}, timeout=300)
    assert "RESULT success" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]
    runs = "select count(*) from dag_run where dag_id = 'stic_upkeep_probe'"
    tis = "select count(*) from task_instance where dag_id = 'stic_upkeep_probe'"
    assert _count(airflow_home, runs) == 1 and _count(airflow_home, tis) == 1

    # The DAG's own task, run by Airflow; the default 30 days keep a run of today.
    clean = ["tasks", "test", "maintain_warehouse", "clean_airflow_db"]
    done = _airflow(clean)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "'retention_days': 30.0" in done.stdout + done.stderr
    assert _count(airflow_home, runs) == 1

    done = _airflow(clean, {"STIC_AIRFLOW_DB_RETENTION_DAYS": "0"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert _count(airflow_home, runs) == 0 and _count(airflow_home, tis) == 0


@pytest.mark.slow
def test_the_readme_backfill_command_creates_the_runs(airflow_home):
    readme = (ROOT / "README.md").read_text()
    lines = [ln for ln in readme.splitlines() if ln.startswith(".venv/bin/airflow backfill create ")]
    assert len(lines) == 1, "README: one `airflow backfill create` example"
    assert "airflow dags backfill" not in readme, "Airflow 3 removed `airflow dags backfill`"
    args = lines[0].split()[1:]
    dag_id = args[args.index("--dag-id") + 1]
    start, end = args[args.index("--from-date") + 1], args[args.index("--to-date") + 1]

    done = _airflow(["dags", "reserialize"])  # what the dag-processor does: the backfill needs the stored DAG
    assert done.returncode == 0, done.stderr[-3000:]
    done = _airflow(args)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    days = {re.sub(r"[T ].*", "", r[0]) for r in sqlite3.connect(airflow_home / "airflow.db").execute(
        "select logical_date from dag_run where dag_id = ? and run_type = 'backfill'", (dag_id,))}
    assert days == {start, "2019-03-02", end}, days
