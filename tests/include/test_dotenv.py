"""`.env` at the project root is read by the settings; the process's own environment wins over it."""

from __future__ import annotations

import os
import subprocess
import sys

SHOW = "from stic.config import settings; import os; print(settings().warehouse_url, os.environ['STIC_DBT_THREADS'])"


def test_dotenv_is_read_and_the_environment_wins(tmp_path):
    (tmp_path / ".env").write_text("# as in .env.example\nWAREHOUSE_URL=postgresql://stic:s3cret@db.example:5432/stic\n"
                                   "STIC_DBT_THREADS=7\n")
    env = {k: v for k, v in os.environ.items() if k not in ("WAREHOUSE_URL", "STIC_DBT_THREADS", "STIC_ENV_FILE")}
    env["STIC_HOME"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", SHOW], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["postgresql://stic:s3cret@db.example:5432/stic", "7"]

    out = subprocess.run([sys.executable, "-c", SHOW], env={**env, "STIC_DBT_THREADS": "3"},
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == ["postgresql://stic:s3cret@db.example:5432/stic", "3"]

    out = subprocess.run([sys.executable, "-c", SHOW.replace("os.environ['STIC_DBT_THREADS']", "'-'")],
                         env={**env, "STIC_ENV_FILE": ""}, capture_output=True, text=True, check=True).stdout
    assert out.split()[0] == "None"
