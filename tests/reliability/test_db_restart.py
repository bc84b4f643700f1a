"""Database faults: the warehouse restarts in the middle of a load — a clean failure, then a successful rerun.

Uses a PRIVATE embedded PostgreSQL (pgserver) under tmp_path, never the machine's shared server: the test
stops it (pg_ctl stop -m fast, which ends every connection as a restart or failover does) while a load's
COPY is running in another process, and starts it again.
"""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg
import pytest

from stic.warehouse import db

from . import harness as h

pytestmark = pytest.mark.slow

# Big enough that the COPY is still running 0.3 s after it is first seen, on a fast machine too (60,000 rows
# loaded in about 0.4 s on 2026-12-01 evening's machine: the restart came after the commit).
ROWS = 400_000
INGEST = ("import sys; from stic import pipeline; o = pipeline.ingest_file(sys.argv[1], submitter='YP', "
          "kind='projects', period='2017'); print(o.status, o.rows_loaded)")


def say(capsys, *args) -> None:
    """Print past pytest's capture: the counts show in every run, not only with -s."""
    with capsys.disabled():
        print(*args, flush=True)


def _server(action: str, pgdata) -> str:
    """embedded_start / embedded_stop in a process of its own: pgserver caches its server object per data
    folder in the process, so a start after a stop in the same process would not start it again."""
    code = (f"import sys; from stic.warehouse import db; r = db.embedded_{action}(sys.argv[1]); "
            "print(r if isinstance(r, str) else '')")
    r = subprocess.run([sys.executable, "-c", code, str(pgdata)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip()


def _copying(url: str) -> bool:
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=2) as c:
            return c.execute("select count(*) from pg_stat_activity where query ilike 'copy %%raw%%projects%%' "
                             "and state = 'active'").fetchone()[0] > 0
    except psycopg.OperationalError:
        return False


def test_warehouse_restart_mid_load_fails_cleanly_and_the_rerun_succeeds(tmp_path, capsys):
    pgdata = tmp_path / "pgdata"
    url = _server("start", pgdata)
    try:
        big = tmp_path / "projects_YP_2017.csv"
        h.write_big_projects(big, ROWS)
        expected = ROWS - len(range(0, ROWS, 97))
        env = h.RunDirs(tmp_path / "run", url).env()
        proc = subprocess.Popen([sys.executable, "-c", INGEST, str(big)], cwd=h.ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while not _copying(url):
            assert proc.poll() is None, f"the load ended before the restart: {proc.communicate()}"
            assert time.monotonic() < deadline, "COPY never started"
            time.sleep(0.05)
        time.sleep(0.3)
        t = time.monotonic()
        _server("stop", pgdata)  # fast shutdown: every session is terminated, open transactions roll back
        try:
            out, err = proc.communicate(timeout=60)  # a clean failure, not a hang
        finally:
            url = _server("start", pgdata)
            env = h.RunDirs(tmp_path / "run", url).env()
        say(capsys, f"\nrestart: the loader failed {time.monotonic() - t:.1f}s after the shutdown, exit {proc.returncode}: "
              f"{err.strip().splitlines()[-1] if err.strip() else ''}")
        assert proc.returncode not in (0, None)
        assert any(w in err for w in ("OperationalError", "AdminShutdown", "terminating connection",
                                      "server closed the connection", "WarehouseUnavailable")), err[-2000:]

        with psycopg.connect(url, autocommit=True) as c:
            # nothing half-done is visible: the submission is received, raw and loads are empty
            assert c.execute("select status from audit.submissions").fetchall() == [("received",)]
            assert c.execute("select count(*) from raw.projects").fetchone()[0] == 0
            assert c.execute("select count(*) from audit.loads").fetchone()[0] == 0

        rerun = subprocess.run([sys.executable, "-c", INGEST, str(big)], cwd=h.ROOT, env=env, capture_output=True,
                               text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        assert rerun.stdout.split() == ["published", str(expected)]
        with psycopg.connect(url, autocommit=True) as c:
            assert c.execute("select count(*), count(distinct project_code) from raw.projects").fetchone() == (
                expected, expected)
            assert c.execute("select count(*), sum(rows_loaded) from audit.loads").fetchone() == (1, expected)
            events = [r[0] for r in c.execute("select to_status from audit.submission_events order by event_id")]
            assert events == ["received", "parsed", "validated", "published"]
        say(capsys, f"restart: rerun published {expected} rows once; recovered 1/1")
    finally:
        if db.embedded_running(pgdata):
            _server("stop", pgdata)
