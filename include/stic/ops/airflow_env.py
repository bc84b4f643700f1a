"""Airflow's local configuration: home inside the project, the project's dags/, SQLite metadata, no examples."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stic.config import TELEMETRY_OFF, settings
from stic.warehouse import db

CONN_ENV = "AIRFLOW_CONN_" + db.WAREHOUSE_CONN_ID.upper()
DAG_IDS = ("ingest_district_submissions", "build_warehouse")  # what `stic run` / `stic demo` run, in order


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or settings().root / "airflow_home")


def lineage_file() -> Path:
    return settings().data_dir / "lineage" / "openlineage.jsonl"


def env(url: str | None = None) -> dict[str, str]:
    """The environment `airflow` runs with: ours, on top of the caller's (which may override any of it)."""
    s = settings()
    home = airflow_home()
    base = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(s.root / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        # The dbt producer (build_warehouse) is never retried; without this Cosmos rewrites a growing backup
        # of its XComs to a Variable on every dbt event, which triples the time of the build.
        "AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY": "False",
        "STIC_HOME": str(s.root),
        # `airflow dags test` (stic run, the DAG tests) runs one task at a time: build_warehouse's dbt sensors
        # reschedule there; a real scheduler (the stack, docker compose) starts them in the triggerer.
        "STIC_DBT_SENSORS": "reschedule",
        # OpenLineage events of every run, one JSON per line, in a local file (README, Lineage: Marquez, DataHub).
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "stic",
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(lineage_file()),
                                                       "append": True}),
        "AIRFLOW__OPENLINEAGE__EXTRACTORS": "_stic_lineage.SubmissionLineageExtractor",
        # The listener emits a task's events in a forked process it kills after this many seconds (default 10):
        # on a busy two-core machine the COMPLETE events of the ingest tasks were lost.
        "AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT": "120",
        **TELEMETRY_OFF,
    }
    lineage_file().parent.mkdir(parents=True, exist_ok=True)
    out = {**base, **{k: v for k, v in os.environ.items() if k.startswith(("AIRFLOW", "STIC_", "WAREHOUSE"))}}
    out["AIRFLOW_HOME"] = os.environ.get("AIRFLOW_HOME", base["AIRFLOW_HOME"])
    if url and not os.environ.get("WAREHOUSE_URL"):
        out["WAREHOUSE_URL"] = url
    # The warehouse as the Airflow connection the DAGs use (Cosmos' dbt profile, the Python tasks' URL). One
    # defined by the caller (or stored in the metadata DB / a secrets backend, with this variable unset) wins.
    if not os.environ.get(CONN_ENV):
        out[CONN_ENV] = db.airflow_connection(url or out.get("WAREHOUSE_URL") or db.warehouse_url(start=False))
    return {**os.environ, **out}


def airflow_bin() -> str:
    return str(Path(sys.executable).parent / "airflow")


def run(args: list[str], url: str | None = None, check: bool = True, capture: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([airflow_bin(), *args], env=env(url), check=check, text=True,
                          capture_output=capture)


def migrate() -> None:
    home = airflow_home()
    home.mkdir(parents=True, exist_ok=True)
    run(["db", "migrate"], capture=True)
