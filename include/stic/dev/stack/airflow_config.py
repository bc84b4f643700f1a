"""The stack's Airflow configuration: every component's environment (docker-compose.yml's x-airflow-common),
the dbt manifest Cosmos reads, and the airflow CLI run against the stack."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from stic.config import TELEMETRY_OFF, environ, settings

from .layout import StackLayout
from .services import StackFailed, free_port, with_db

# The LocalExecutor's task processes are forks of its workers. Forked from the scheduler (Python 3.11's default),
# each dbt task imports dbt and Cosmos anew: ~2 s of a core (mashumaro builds dbt's classes' serialisers at import).
# Forked from a forkserver that imported them once (Airflow 3.3's own settings, as gunicorn's preload), each task
# starts with them loaded; the forkserver starts with the first task. docker-compose.yml runs Celery workers,
# whose pool processes fork from the worker itself: this applies to the LocalExecutor only.
PRELOAD_FOR_TASKS = {
    "AIRFLOW__SCHEDULER__MP_START_METHOD": "forkserver",
    "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD": ",".join([
        "airflow", "airflow.executors.local_executor", "airflow.sdk.execution_time.task_runner",
        "cosmos.operators.watcher", "dbt.cli.main", "dbt.adapters.postgres"]),
}


def component_env(layout: StackLayout) -> dict[str, str]:
    """The environment of every component: the same keys as x-airflow-common in docker-compose.yml."""
    from stic.ops import airflow_env

    stic_env = {
        "AIRFLOW_HOME": str(layout.home),
        "STIC_HOME": str(settings().root),
        "STIC_LANDING_DIR": str(layout.landing),
        "STIC_REPORTS_DIR": str(layout.base_dir / "reports"),
        "STIC_DATA_DIR": str(layout.base_dir / "data"),
        "DBT_LOG_PATH": str(layout.base_dir / "dbt-logs"),
        "WAREHOUSE_URL": layout.warehouse_url,
        # The e2e sample is copied in whole just before the DAG runs: nothing to wait for.
        "STIC_LANDING_SETTLE_SECONDS": os.environ.get("STIC_LANDING_SETTLE_SECONDS", "0"),
        # A real scheduler and triggerer: build_warehouse's dbt sensors start in the triggerer.
        "STIC_DBT_SENSORS": "triggerer",
    }
    with environ(stic_env):
        env = airflow_env.env(layout.warehouse_url)
    # The DAG reads the manifest stic.warehouse.dbt_runner.parse publishes under STIC_DATA_DIR/cosmos, where no dbt run
    # writes (a Cosmos task's dbt rewrites target/manifest.json while other tasks parse the DAG file).
    # No DBT_TARGET_PATH either: dbt's artifacts stay in dbt_project/target
    # (as after `stic setup`) and Cosmos runs dbt in a temporary copy of the project.
    env.pop("DBT_TARGET_PATH", None)
    secret = uuid.uuid4().hex + uuid.uuid4().hex
    meta = with_db(layout.pg_url, layout.meta_db, "postgresql+psycopg")
    env.update(stic_env)
    env.update(TELEMETRY_OFF)
    env.update({
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if layout.executor == "celery" else "LocalExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings().root / "dags"),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{layout.api_url}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(layout.home / "passwords.json"),
        # psycopg 3 for both: Airflow derives the async URL as postgresql+asyncpg, not installed here.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": meta,
        "AIRFLOW__API_AUTH__JWT_SECRET": secret,
        "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(layout.api_port),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(layout.logs / "tasks"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        # As docker-compose.yml: each DAG file re-parsed every 2 minutes, not every 30 s (a deploy changes them).
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "120",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
        # The api-server's first execution-API calls can take tens of seconds on a loaded two-core machine
        # (seen: 35 s for the first `PATCH .../run`); the default 5 s timeout failed the first task.
        "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
        # Cosmos' cache (its copy of dbt's partial parse) per stack: the shared /tmp/cosmos one holds the partial
        # parse of another stack's warehouse, whose profile differs, and dbt then parses the whole project again.
        "AIRFLOW__COSMOS__CACHE_DIR": str(layout.base_dir / "cosmos-cache"),
        # The triggerer imports build_warehouse's sensor trigger (dags/_stic_watcher.py) by its path; it parses
        # no DAG, so the DAG folder is not on its sys.path otherwise.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(settings().root / "dags"), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    })
    if layout.executor == "celery":
        env.update({
            "AIRFLOW__CELERY__BROKER_URL": layout.broker_url(),
            "AIRFLOW__CELERY__RESULT_BACKEND": with_db(layout.pg_url, layout.meta_db, "db+postgresql"),
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(layout.concurrency),
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
        })
    else:  # LocalExecutor: the scheduler's own task slots
        env["AIRFLOW__CORE__PARALLELISM"] = str(layout.concurrency)
        env.update(PRELOAD_FOR_TASKS)
    return env


def dbt_parse(env: dict[str, str], logs: Path) -> None:
    """`stic setup`'s dbt half: the manifest Cosmos reads (published under STIC_DATA_DIR/cosmos)."""
    code = "from stic.warehouse import dbt_runner; print(dbt_runner.parse())"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    (logs / "dbt-parse.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise StackFailed(f"dbt parse failed; see {logs / 'dbt-parse.log'}\n{proc.stderr[-2000:]}")


def run_airflow(env: dict[str, str], cwd: Path, logs: Path, args: list[str], check: bool = True,
                timeout: float = 600) -> subprocess.CompletedProcess:
    """The airflow CLI on the stack; its output goes to logs/cli.log."""
    from stic.ops import airflow_env

    proc = subprocess.run([airflow_env.airflow_bin(), *args], env=env, capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)
    with open(logs / "cli.log", "a") as f:
        f.write(f"$ airflow {' '.join(args)}  (exit {proc.returncode})\n{proc.stdout}{proc.stderr}\n")
    if check and proc.returncode != 0:
        raise StackFailed(f"airflow {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc
