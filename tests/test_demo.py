"""README's first command on a machine with no PostgreSQL configured: the embedded warehouse starts,
the sample goes through Airflow, and a second run loads nothing twice."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _stic(args, env):
    return subprocess.run([str(Path(sys.executable).parent / "stic"), *args], env=env, capture_output=True, text=True,
                          timeout=900, cwd=ROOT)


def _counts(text: str) -> dict[str, str]:
    return dict(re.findall(r"│ ([a-z][^│]*?)\s+│\s+([^│]+?)\s+│", text))


@pytest.fixture()
def own_dir():
    """A folder outside pytest's tmp rotation: another pytest session on the machine may prune old basetemps
    (and the embedded PostgreSQL's data with them) while this long test runs."""
    import shutil
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="stic-demo-test-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.slow
def test_demo_runs_on_the_embedded_warehouse_and_is_idempotent(own_dir):
    tmp_path = own_dir
    env = {k: v for k, v in os.environ.items() if k not in ("WAREHOUSE_URL", "AIRFLOW_HOME") and not k.startswith("STIC_")}
    env.update({"STIC_DATA_DIR": str(tmp_path / "data"), "STIC_LANDING_DIR": str(tmp_path / "landing"),
                "STIC_REPORTS_DIR": str(tmp_path / "reports"), "AIRFLOW_HOME": str(tmp_path / "airflow"),
                "DBT_TARGET_PATH": str(tmp_path / "dbt-target"), "DBT_LOG_PATH": str(tmp_path / "dbt-logs")})
    try:
        setup = _stic(["setup"], env)
        assert setup.returncode == 0, setup.stderr[-3000:]
        first = _stic(["demo", "--scale", "0.05"], env)
        assert first.returncode == 0, (first.stdout + first.stderr)[-5000:]
        assert "embedded PostgreSQL" in first.stdout
        second = _stic(["demo", "--scale", "0.05"], env)
        assert second.returncode == 0, (second.stdout + second.stderr)[-5000:]
        print(second.stdout)
        a, b = _counts(first.stdout), _counts(second.stdout)
        assert a == b and int(a["submissions published"]) > 0
        assert "This run: 0 new submission(s), 0 new row(s) loaded." in second.stdout
        url = _stic(["db", "url"], env).stdout.strip()
        import psycopg

        with psycopg.connect(url) as conn:
            n = conn.execute("select count(*) from marts.fct_projects").fetchone()[0]
            valid = conn.execute("select sum(rows_loaded) from audit.submissions where kind = 'projects' "
                                 "and status = 'published'").fetchone()[0]
        assert n == valid > 0
    finally:
        _stic(["db", "stop"], env)
