"""Concurrency: four ingests of different submissions, two of the same file, two scans of the landing area
and a warehouse build, all at once.

Each is its own process (as Airflow workers would be) against one database. The design that keeps this
correct is in the code under test and documented in docs/reliability.md:

* registration of a (submitter, kind, period) is serialised by a transaction-scoped advisory lock
  (stic.ledger.key_lock), so the same bytes sent twice become one submission or one + one `duplicate`;
* one submitter's submissions are processed one at a time (stic.ledger.submitter_lock, a session advisory
  lock taken by stic.pipeline.process);
* the load is one transaction that re-reads the status `for update` (stic.ledger.lock_row) and moves it with
  stic.ledger.transition; validation re-checks it the same way;
* raw tables have the primary key (load_id, source_sheet, source_row_number).

Asserted: every process ends (bounded timeouts: no deadlock), exit 0; no duplicate rows; every submission
in a terminal status; each published submission has exactly one load with rows and exactly its rows in
raw; the same-file pair ends as one published submission (+ at most one `duplicate` of it); the events
of every submission form an unbroken chain from `received` to its status; after a final build, every
published project is in the marts. Prints what it saw.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from . import harness as h

pytestmark = pytest.mark.slow

TIMEOUT = 420  # seconds for everything running at once; far above the ~1 minute it takes
DIFFERENT = (("PD", 1_500), ("YP", 1_200), ("XH", 900), ("JA", 600))  # submitter, rows
SAME = "HK"
SCANNED = "SJ"

INGEST = """
import json, sys, time
from stic import pipeline
start = float(sys.argv[5])
time.sleep(max(0.0, start - time.time()))
o = pipeline.ingest_file(sys.argv[1], submitter=sys.argv[2], kind=sys.argv[3], period=sys.argv[4])
print(json.dumps(o.as_dict()))
"""
SCAN = """
import json, sys, time
from stic import pipeline
start = float(sys.argv[1])
time.sleep(max(0.0, start - time.time()))
outs = [pipeline.process_submission(t["submission_id"]).as_dict() for t in pipeline.register_landing_files()]
print(json.dumps(outs))
"""
BUILD = """
import sys, time
start = float(sys.argv[1])
time.sleep(max(0.0, start - time.time()))
from stic import cli
sys.exit(cli.main(["build"]))
"""


def say(capsys, *args) -> None:
    """Print past pytest's capture: the counts show in every run, not only with -s."""
    with capsys.disabled():
        print(*args, flush=True)


def write_projects(path: Path, submitter: str, rows: int) -> None:
    h.write_big_projects(path, rows)
    text = path.read_text(encoding="utf-8").replace("BIG", f"C{submitter}-").replace(",YP,", f",{submitter},")
    path.write_text(text, encoding="utf-8")


def test_parallel_ingests_and_a_build_lose_nothing_and_duplicate_nothing(rel_admin_url, tmp_path, capsys):
    name, url = h.create_database(rel_admin_url)
    try:
        d = h.RunDirs(tmp_path / "run", url)
        env = d.env()
        from stic.warehouse import db

        with psycopg.connect(url, autocommit=True) as c:
            db.init_schema(c)
        files = {}
        for sub, rows in DIFFERENT:
            files[sub] = tmp_path / f"projects_{sub}.csv"
            write_projects(files[sub], sub, rows)
        same = tmp_path / "projects_same.csv"
        write_projects(same, SAME, 800)
        # one landing file, scanned by two ingest-DAG runs at once
        landed = d.landing / "incoming" / SCANNED / "projects" / "2018" / "projects.csv"
        landed.parent.mkdir(parents=True)
        write_projects(landed, SCANNED, 700)

        start = time.time() + 8  # every process imported and waiting, then all at once
        procs = []
        for sub, _ in DIFFERENT:
            procs.append((f"ingest {sub}", subprocess.Popen(
                [sys.executable, "-c", INGEST, str(files[sub]), sub, "projects", "2018", str(start)],
                cwd=h.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        for i in (1, 2):
            procs.append((f"ingest {SAME} #{i}", subprocess.Popen(
                [sys.executable, "-c", INGEST, str(same), SAME, "projects", "2018", str(start)],
                cwd=h.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        for i in (1, 2):
            procs.append((f"scan #{i}", subprocess.Popen([sys.executable, "-c", SCAN, str(start)], cwd=h.ROOT, env=env,
                                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        procs.append(("build", subprocess.Popen([sys.executable, "-c", BUILD, str(start)], cwd=h.ROOT, env=env,
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        deadline = time.monotonic() + TIMEOUT
        results = {}
        for label, p in procs:
            try:
                out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                for _, q in procs:
                    q.kill()
                with psycopg.connect(url, autocommit=True) as c:
                    waits = c.execute("select pid, wait_event_type, wait_event, left(query, 120) from pg_stat_activity "
                                      "where datname = current_database() and state <> 'idle'").fetchall()
                pytest.fail(f"{label} still running after {TIMEOUT}s (deadlock?); activity: {waits}")
            assert p.returncode == 0, f"{label} failed: {err[-3000:]}"
            results[label] = json.loads(out.strip().splitlines()[-1]) if label != "build" else None
        elapsed = time.monotonic() - (deadline - TIMEOUT)

        with psycopg.connect(url, autocommit=True) as c:
            subs = {r[0]: r[1:] for r in c.execute(
                "select submission_id, submitter_code, status, duplicate_of, rows_loaded, load_id "
                "from audit.submissions order by 1")}
            # nothing lost: every different submission published with all its rows
            for sub, rows in DIFFERENT:
                o = results[f"ingest {sub}"]
                assert o["status"] == "published" and o["rows_loaded"] == rows - len(range(0, rows, 97)), o
            # the same file twice: one published submission, and at most one duplicate of it
            pair = [results[f"ingest {SAME} #1"], results[f"ingest {SAME} #2"]]
            hk = {sid: v for sid, v in subs.items() if v[0] == SAME}
            published = [sid for sid, v in hk.items() if v[1] == "published"]
            assert len(published) == 1, hk
            others = [v for sid, v in hk.items() if sid not in published]
            assert all(v[1] == "duplicate" and v[2] == published[0] for v in others) and len(others) <= 1, hk
            assert {o["submission_id"] for o in pair} <= set(hk), pair
            # the landing file scanned twice at once: registered once (unique landing_path + sha256), published
            sj = {sid: v for sid, v in subs.items() if v[0] == SCANNED}
            assert [v[1] for v in sj.values()] == ["published"], sj
            # (a scan also carries on submissions other workers have in flight: it cannot tell them from ones a
            # crash left; process() serialises per submitter and re-checks the status, so that is only waiting)
            scanned = [o for label in ("scan #1", "scan #2") for o in results[label] if o["submitter_code"] == SCANNED]
            assert {o["submission_id"] for o in scanned} <= set(sj) and scanned, scanned
            assert len(subs) == len(DIFFERENT) + len(hk) + len(sj)
            # a consistent ledger: terminal statuses, an unbroken chain of events
            assert all(v[1] in ("published", "duplicate") for v in subs.values()), subs
            for sid, v in subs.items():
                events = c.execute("select from_status, to_status from audit.submission_events "
                                   "where submission_id = %s order by event_id", (sid,)).fetchall()
                assert events[0] == (None, "received"), (sid, events)
                for (_, prev_to), (nxt_from, _) in zip(events, events[1:], strict=False):
                    assert nxt_from == prev_to, (sid, events)
                assert events[-1][1] == v[1], (sid, events)
            # no duplicate rows: one load with rows per published submission, exactly its rows in raw
            for sid, (_sub, status, _dup, rows_loaded, load_id) in subs.items():
                loads = c.execute("select load_id, rows_loaded from audit.loads where submission_id = %s",
                                  (sid,)).fetchall()
                if status == "published":
                    assert loads == [(load_id, rows_loaded)], (sid, loads)
                else:
                    assert loads == [], (sid, loads)
                n, distinct, other_loads = c.execute(
                    "select count(*), count(distinct project_code), count(*) filter (where load_id <> %s) "
                    "from raw.projects where submission_id = %s", (load_id or -1, sid)).fetchone()
                assert (n, distinct, other_loads) == ((rows_loaded, rows_loaded, 0) if status == "published"
                                                      else (0, 0, 0)), sid
            total_raw = c.execute("select count(*) from raw.projects").fetchone()[0]
            expected_raw = sum(v[3] for v in subs.values() if v[1] == "published")
            assert total_raw == expected_raw

        # and the marts, built once more after everything settled, hold every published project once
        b = subprocess.run([sys.executable, "-c", BUILD, "0"], cwd=h.ROOT, env=env, capture_output=True, text=True,
                           timeout=TIMEOUT)
        assert b.returncode == 0, b.stderr[-3000:]
        with psycopg.connect(url, autocommit=True) as c:
            in_marts = c.execute("select count(*), count(distinct project_code) from marts.fct_projects").fetchone()
        assert in_marts == (expected_raw, expected_raw)
        say(capsys, f"\nconcurrency: {len(procs)} processes at once ({len(DIFFERENT)} ingests, 2 of the same file, "
              f"2 scans of one landing file, a build) "
              f"ended in {elapsed:.0f}s; {len(subs)} submissions "
              f"({sum(v[1] == 'published' for v in subs.values())} published, "
              f"{sum(v[1] == 'duplicate' for v in subs.values())} duplicate), same-file pair -> submission ids "
              f"{sorted({o['submission_id'] for o in pair})}; {total_raw} raw rows, none twice; {in_marts[0]} in marts")
    finally:
        h.drop_database(rel_admin_url, name)
