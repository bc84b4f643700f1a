"""Airflow runs in its own process here, with its home in a temp folder: tests never touch the project's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory, warehouse_url) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    os.environ["AIRFLOW_HOME"] = str(home)
    from stic.ops import airflow_env
    from stic.warehouse import dbt_runner as dbt

    airflow_env.migrate()
    dbt.parse()  # the manifest Cosmos reads, for this checkout's models (into DBT_TARGET_PATH)
    return home


def run_python(code: str, env_extra: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    from stic.ops import airflow_env

    env = airflow_env.env()
    env.update(env_extra or {})
    env["PYTHONPATH"] = str(ROOT / "dags")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)
