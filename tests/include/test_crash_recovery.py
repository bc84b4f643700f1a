"""Killing an ingest mid-COPY (SIGKILL) and running it again leaves the warehouse as a clean run would."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest

ROWS = 200_000


def _write_big_csv(path) -> Decimal:
    total = Decimal(0)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["project_code", "title", "level", "field", "lead_institution", "district", "start_date", "status",
                    "funding_municipal_yuan"])
        for i in range(ROWS):
            amount = Decimal(1000 + i % 977)
            total += amount
            w.writerow([f"BIG{i:07d}", f"Project {i}", "municipal", "fintech", "Fudan University", "YP", "2018-01-01",
                        "underway", amount])
    return total


def _copy_in_progress(conn) -> bool:
    return conn.execute(
        "select count(*) from pg_stat_activity where datname = current_database() and query ilike 'copy %%raw%%projects%%'"
        " and state = 'active'"
    ).fetchone()[0] > 0


@pytest.mark.slow
def test_sigkill_during_copy_then_rerun_matches_a_clean_run(clean_warehouse, tmp_path):
    c = clean_warehouse
    big = tmp_path / "big.csv"
    expected_sum = _write_big_csv(big)
    code = (f"from stic import pipeline; pipeline.ingest_file({str(big)!r}, submitter='YP', kind='projects', "
            "period='2018')")
    proc = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy())
    deadline = time.monotonic() + 60
    while not _copy_in_progress(c):
        assert proc.poll() is None, "the ingest finished before it could be killed; make the file bigger"
        assert time.monotonic() < deadline, "COPY never started"
        time.sleep(0.05)
    time.sleep(0.3)  # well inside the COPY
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while _copy_in_progress(c) and time.monotonic() < deadline:
        time.sleep(0.1)  # the server notices its client is gone and rolls the transaction back

    # After the crash: the ledger knows the submission, nothing half-loaded is visible.
    assert c.execute("select status from audit.submissions").fetchall() == [("received",)]
    assert c.execute("select count(*) from raw.projects").fetchone()[0] == 0
    assert c.execute("select count(*) from audit.loads").fetchone()[0] == 0

    from stic import pipeline

    out = pipeline.ingest_file(big, submitter="YP", kind="projects", period="2018")
    assert out.status == "published" and out.rows_loaded == ROWS and out.is_new is False
    assert c.execute("select count(*), count(distinct project_code), sum(funding_municipal_yuan) from raw.projects"
                     ).fetchone() == (ROWS, ROWS, expected_sum)
    assert c.execute("select count(*) from audit.submissions").fetchone()[0] == 1
    assert c.execute("select count(*), sum(rows_loaded) from audit.loads").fetchone() == (1, ROWS)
