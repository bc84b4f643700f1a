"""The dbt models follow the committed SQL style (.sqlfluff at the root and in dbt_project/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sqlfluff_lint_is_clean(tmp_path, warehouse_url):
    from stic.warehouse import db

    env = {**os.environ, **db.dbt_env(warehouse_url), "DBT_TARGET_PATH": str(tmp_path / "target"),
           "DBT_LOG_PATH": str(tmp_path / "logs")}
    proc = subprocess.run([str(Path(sys.executable).parent / "sqlfluff"), "lint", "dbt_project/models",
                           "--processes", "1"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
