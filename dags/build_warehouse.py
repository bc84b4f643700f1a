"""
### Build the warehouse

Runs when a submission of any kind is published (or on demand): dbt builds staging, intermediate and
marts through Cosmos (models and their tests, in dependency order, from the manifest written by
`stic setup` — no `dbt ls` at parse time), then prints the warehouse summary.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from _stic_common import DEFAULT_ARGS, RAW_ASSETS
from airflow.sdk import dag, task
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior, TestIndirectSelection

PROJECT_ROOT = Path(os.environ.get("STIC_HOME") or Path(__file__).resolve().parents[1])
DBT_DIR = PROJECT_ROOT / "dbt_project"
# Published by `stic setup` (stic.dbt.parse) where no dbt run writes, so a parse never reads half a file.
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
        from stic import db

        with db.connect() as conn:
            db.init_schema(conn)
        return "ready"

    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(dbt_project_path=DBT_DIR, manifest_path=MANIFEST),
        profile_config=ProfileConfig(profile_name="stic_warehouse", target_name="warehouse",
                                     profiles_yml_filepath=DBT_DIR / "profiles.yml"),
        execution_config=ExecutionConfig(invocation_mode=InvocationMode.DBT_RUNNER,
                                         test_indirect_selection=TestIndirectSelection.CAUTIOUS),
        # A test on several models (relationships) runs once all of them are built, in a task of its own.
        render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, test_behavior=TestBehavior.BUILD,
                                   should_detach_multiple_parents_tests=True),
        operator_args={"install_deps": False},
        default_args={"retries": 0},
    )

    @task
    def validate_marts() -> list[dict]:
        """Mart suites; a critical failure fails the run loudly (the marts keep what dbt built)."""
        from stic.validate import build_data_docs, validate_marts

        runs = validate_marts()
        build_data_docs()
        return [{"suite": r.suite_name, "success": r.success, "warnings": r.warnings} for r in runs]

    @task
    def secure_marts() -> dict:
        """Re-apply grants and row-level security to the tables dbt just rebuilt."""
        from stic import db, roles

        with db.connect() as conn:
            return roles.apply(conn)

    @task(trigger_rule="all_done")
    def build_reports() -> str:
        """The auditors' site and any missing receipts, also when mart validation failed."""
        from stic import dbt
        from stic.reports.site import build_site

        dbt.docs()  # the catalog and lineage, as one page linked from the site
        return str(build_site())

    @task
    def print_summary() -> dict:
        from stic import summary

        s = summary.collect()
        print(summary.render(s))
        return s["submissions"]

    ensure_warehouse() >> dbt >> secure_marts() >> validate_marts() >> build_reports() >> print_summary()


build_warehouse()
