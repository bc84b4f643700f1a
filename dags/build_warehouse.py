"""
### Build the warehouse

Runs when a submission of any kind is published (or on demand): dbt builds staging, intermediate and
marts through Cosmos (models and their tests, in dependency order, from the manifest written by
`stic setup` — no `dbt ls` at parse time), then prints the warehouse summary.

The dbt stage runs in Cosmos' watcher mode: one task (`dbt.dbt_producer_watcher`) runs a single
`dbt build`; for each model (seed, snapshot) one task reports that node's outcome and then its tests' from the
producer, as Cosmos' TestBehavior.BUILD does per model, so the graph still shows what failed (a failing test
fails its model's task, and dbt skips what depends on it). The producer's log has dbt's own output.
Under a scheduler these sensors start, and on success end, in the triggerer without taking a worker, all
from the start of the run (each waits for its own model's outcome, not for the sensors upstream of it), and
they share one poll of what the producer has reported; under `airflow dags test` they reschedule
(STIC_DBT_SENSORS, see _stic_watcher.py).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from _stic_common import DBT_VARS, DEFAULT_ARGS, RAW_ASSETS, warehouse_profile_config
from _stic_watcher import fold_tests, quiet_producer, sensor_args, start_in_triggerer
from airflow.sdk import dag, task
from cosmos import DbtTaskGroup, ExecutionConfig, ExecutionMode, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior, TestIndirectSelection

PROJECT_ROOT = Path(os.environ.get("STIC_HOME") or Path(__file__).resolve().parents[1])
DBT_DIR = PROJECT_ROOT / "dbt_project"
# Published by `stic setup` (stic.warehouse.dbt_runner.parse) where no dbt run writes, so a parse never reads half a file.
DATA_DIR = Path(os.environ.get("STIC_DATA_DIR") or PROJECT_ROOT / ".stic")
MANIFEST = Path(os.environ.get("STIC_DBT_MANIFEST") or DATA_DIR / "cosmos" / "manifest.json")


@dag(
    schedule=RAW_ASSETS["projects"] | RAW_ASSETS["facilities"] | RAW_ASSETS["platform_assessments"]
    | RAW_ASSETS["ip_transactions"],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["stic", "dbt", "marts"],
    doc_md=__doc__,
)
def build_warehouse():
    @task
    def ensure_warehouse() -> str:
        from stic.warehouse import db

        with db.connect() as conn:
            db.init_schema(conn)
        return "ready"

    project = ProjectConfig(dbt_project_path=DBT_DIR, manifest_path=MANIFEST, install_dbt_deps=False, dbt_vars=DBT_VARS)
    # The manifest is a local file, read as one. Cosmos wraps any manifest path in Airflow's ObjectStoragePath, whose
    # open() loads every Airflow plugin for its hook lineage: Cosmos' own plugin imports FastAPI, 0.13 s of this
    # file's import in a process without plugins loaded (`airflow dags test`, a task's process). Cosmos only opens,
    # tests and names the path, as a pathlib.Path does.
    project.manifest_path = MANIFEST
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=project,
        # The dbt profile comes from the Airflow connection `stic_warehouse` (see _stic_common).
        profile_config=warehouse_profile_config(),
        # One `dbt build` of the whole project (models, seeds, snapshot, unit and data tests; a failing test
        # skips what depends on it, as TestBehavior.BUILD did per model) instead of one dbt start-up per model.
        execution_config=ExecutionConfig(execution_mode=ExecutionMode.WATCHER,
                                         invocation_mode=InvocationMode.DBT_RUNNER,
                                         test_indirect_selection=TestIndirectSelection.CAUTIOUS),
        # Watcher mode has no BUILD rendering (its DbtBuild operator raises), and AFTER_EACH adds a `.test` sensor
        # per model: twice the sensors for the triggerer to start. NONE renders one task per node; fold_tests puts
        # the tests back into the producer's build and makes each node's task report its tests too. A test on
        # several models counts in each of them: detached, it would wait for a result never reported under its name.
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.NONE,
                                   should_detach_multiple_parents_tests=False),
        # The per-model tasks are sensors on the producer's XComs: under a scheduler they start and (on success)
        # end in the triggerer, without a worker; under `airflow dags test` they reschedule (_stic_watcher).
        operator_args=sensor_args(),
        # The producer is never retried: a second attempt would skip, and each model would then run on its own.
        default_args={"retries": 0},
    )
    fold_tests(dbt)
    start_in_triggerer(dbt)
    quiet_producer(dbt)

    @task
    def validate_marts() -> list[dict]:
        """Mart suites; a critical failure fails the run loudly (the marts keep what dbt built)."""
        from stic.quality.gx import build_data_docs, validate_marts

        runs = validate_marts()
        build_data_docs()
        return [{"suite": r.suite_name, "success": r.success, "warnings": r.warnings} for r in runs]

    @task
    def secure_marts() -> dict:
        """Re-apply grants and row-level security to the tables dbt just rebuilt."""
        from stic.warehouse import db, roles

        with db.connect() as conn:
            return roles.apply(conn)

    @task(trigger_rule="all_done")
    def build_reports() -> str:
        """The auditors' site and any missing receipts, also when mart validation failed."""
        from stic.reports.site import build_site
        from stic.warehouse import dbt_runner as dbt

        dbt.docs()  # the catalog and lineage, as one page linked from the site
        return str(build_site())

    @task
    def print_summary() -> dict:
        from stic.reports import summary

        s = summary.collect()
        print(summary.render(s))
        return s["submissions"]

    @task(trigger_rule="one_failed")
    def fail_run() -> None:
        """build_reports runs after a failure too (all_done), so the run would end green: end it red instead."""
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException("a task of this run failed: see the dbt, secure_marts or validate_marts tasks")

    secured = secure_marts()
    validated = validate_marts()
    reports = build_reports()
    summary = print_summary()
    ensure_warehouse() >> dbt >> secured >> validated >> reports >> summary
    [secured, validated, reports, summary] >> fail_run()


build_warehouse()
