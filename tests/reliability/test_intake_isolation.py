"""Intake that no single file can block or stall, parts and corrections, and an append-only audit trail.

Each test drops files into a private landing area and runs the same entry points the DAG and
`stic ingest --landing` use (stic.pipeline.register_landing_files / ingest_landing / process), against the
session's real PostgreSQL and Great Expectations; the kill -9 test runs `stic ingest --landing` as a process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import pytest

from stic import ledger, pipeline
from stic.reports import receipts
from stic.warehouse import roles

HEADER = ("project_code,title,level,programme,field,lead_institution,institution_type,district,start_date,end_date,"
          "status,funding_central_yuan,funding_municipal_yuan,funding_district_yuan,funding_self_raised_yuan\n")


def row(code: str, municipal: int = 1_000_000, district: str = "PD") -> str:
    return (f"{code},Project {code},municipal,municipal_major_st,integrated_circuits,SMIC,enterprise,{district},"
            f"2018-07-01,2019-06-30,completed,,{municipal},,\n")


def _landing(tmp_path: Path, monkeypatch) -> Path:
    landing = tmp_path / "landing"
    monkeypatch.setenv("STIC_LANDING_DIR", str(landing))
    monkeypatch.setenv("STIC_LANDING_SETTLE_SECONDS", "0")
    monkeypatch.setenv("STIC_REPORTS_DIR", str(tmp_path / "reports"))  # receipt ids restart with the ledger
    incoming = landing / "incoming"
    incoming.mkdir(parents=True)
    return incoming


def drop(incoming: Path, rel: str | bytes, text: str) -> Path:
    """Write a landing file; `rel` as bytes for a name that is not UTF-8."""
    if isinstance(rel, bytes):
        path = os.fsdecode(os.path.join(os.fsencode(incoming), rel))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(text.encode("utf-8"))
        return Path(path)
    p = incoming / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def subs(c) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in c.execute(
        "select original_name, submission_id, status, status_reason, submitter_code from audit.submissions")}


# ------------------------------------------------------------------------------ each landing file on its own

def test_a_name_that_is_not_utf8_does_not_block_another_districts_file(clean_warehouse, tmp_path, monkeypatch):
    """GBK bytes in a name (an older Windows client) used to fail the whole pass with UnicodeEncodeError."""
    incoming = _landing(tmp_path, monkeypatch)
    gbk = "项目\n汇总".encode("gbk") + b".csv"  # not UTF-8, and a newline in the name too
    drop(incoming, b"YP/projects/2018/" + gbk, HEADER + row("P-GBK-1", district="YP"))
    drop(incoming, "XH/projects/2018/projects.csv", HEADER + row("P-XH-1", district="XH"))
    run = pipeline.ingest_landing()
    got = subs(clean_warehouse)
    assert got["projects.csv"][1] == "published", got
    # the odd name is kept as bytes-safe text: each undecodable byte as \xNN, the newline escaped
    [odd] = [n for n in got if n != "projects.csv"]
    assert odd == "".join(f"\\x{b:02x}" if b >= 0x80 else chr(b) for b in "项目".encode("gbk")) + "\\x0a" + \
        "".join(f"\\x{b:02x}" for b in "汇总".encode("gbk")) + ".csv", odd
    assert "\n" not in odd and got[odd][1] == "published"
    assert not run.unfinished and not run.skipped
    lp = clean_warehouse.execute("select landing_path from audit.submissions where original_name = %s",
                                 (odd,)).fetchone()[0]
    assert lp == f"YP/projects/2018/{odd}"
    # a rescan finds it again under the same text: registered once
    assert pipeline.ingest_landing().outcomes == []


def test_a_file_still_being_written_is_left_for_the_next_scan(clean_warehouse, tmp_path, monkeypatch):
    incoming = _landing(tmp_path, monkeypatch)
    monkeypatch.setenv("STIC_LANDING_SETTLE_SECONDS", "30")
    growing = drop(incoming, "PD/projects/2018/growing.csv", HEADER + row("P-G-1"))
    settled = drop(incoming, "XH/projects/2018/settled.csv", HEADER + row("P-S-1", district="XH"))
    old = time.time() - 120
    os.utime(settled, (old, old))
    run = pipeline.ingest_landing()
    assert [o.original_name for o in run.outcomes] == ["settled.csv"] and run.outcomes[0].status == "published"
    assert any("growing.csv" in s and "next scan" in s for s in run.skipped), run.skipped
    assert "growing.csv" not in subs(clean_warehouse)
    with growing.open("a", encoding="utf-8") as f:  # the upload finishes
        f.write(row("P-G-2"))
    os.utime(growing, (old, old))
    [out] = pipeline.ingest_landing().outcomes
    assert (out.original_name, out.status, out.rows_loaded) == ("growing.csv", "published", 2)


# ------------------------------------------------------------------------------------ no stuck submissions

def test_a_submission_that_keeps_failing_is_rejected_with_a_receipt_and_others_go_on(clean_warehouse, tmp_path,
                                                                                     monkeypatch):
    """An internal error (here injected: STIC_FAIL_AT) is recorded per attempt; the third rejects the file."""
    incoming = _landing(tmp_path, monkeypatch)
    monkeypatch.setenv("STIC_LANDING_DIR", str(incoming.parent))
    monkeypatch.setenv("STIC_FAIL_AT", "pipeline.load@trips_a_bug")
    drop(incoming, "YP/projects/2018/trips_a_bug.csv", HEADER + row("P-BUG-1", district="YP"))
    drop(incoming, "XH/projects/2018/fine.csv", HEADER + row("P-FINE-1", district="XH"))
    c = clean_warehouse
    first = pipeline.ingest_landing()
    by_name = {o.original_name: o for o in first.outcomes}
    assert by_name["fine.csv"].status == "published"
    bad = by_name["trips_a_bug.csv"]
    assert bad.status == "received" and bad.attempts_failed == 1 and "InjectedFault" in bad.error
    second = pipeline.ingest_landing()  # picked up again, as every DAG run does
    assert [(o.original_name, o.status, o.attempts_failed) for o in second.outcomes] == [
        ("trips_a_bug.csv", "received", 2)]
    [third] = pipeline.ingest_landing().outcomes
    assert third.status == "rejected" and third.reason.startswith("internal error while reading: InjectedFault")
    errors = c.execute("select from_status, detail from audit.submission_events where submission_id = %s "
                       "and to_status = 'error' order by event_id", (bad.submission_id,)).fetchall()
    assert len(errors) == 3 and all(f == "received" and "injected fault" in d for f, d in errors)
    receipt = json.loads(receipts.receipt_paths(bad.submission_id)[0].read_text(encoding="utf-8"))
    assert receipt["status"] == "rejected" and "internal error while reading" in receipt["status_reason"]
    assert pipeline.ingest_landing().outcomes == []  # and the queue is empty: nothing is tried a fourth time


def test_an_error_is_not_counted_when_the_submission_then_succeeds(clean_warehouse, tmp_path, monkeypatch):
    incoming = _landing(tmp_path, monkeypatch)
    drop(incoming, "PD/projects/2018/flaky.csv", HEADER + row("P-FL-1"))
    monkeypatch.setenv("STIC_FAIL_AT", "pipeline.load")
    [out] = pipeline.ingest_landing().outcomes
    assert out.status == "received" and out.attempts_failed == 1
    monkeypatch.delenv("STIC_FAIL_AT")
    [out] = pipeline.ingest_landing().outcomes
    assert out.status == "published" and out.error is None
    events = [r[0] for r in clean_warehouse.execute(
        "select to_status from audit.submission_events where submission_id = %s order by event_id",
        (out.submission_id,))]
    assert events == ["received", "error", "parsed", "validated", "published"]


@pytest.mark.parametrize("crash_at", ["ledger.registered", "load.committed", "validate.committed"])
@pytest.mark.slow
def test_kill_9_then_ingest_landing_publishes_once(clean_warehouse, tmp_path, monkeypatch, crash_at):
    incoming = _landing(tmp_path, monkeypatch)
    drop(incoming, "PD/projects/2018/projects.csv", HEADER + row("P-K-1") + row("P-K-2"))
    stic = str(Path(sys.executable).parent / "stic")
    crashed = subprocess.run([stic, "ingest", "--landing"], env={**os.environ, "STIC_CRASH_AT": crash_at},
                             capture_output=True, text=True, timeout=300)
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    rerun = subprocess.run([stic, "ingest", "--landing"], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    outs = json.loads(rerun.stdout)
    assert [(o["original_name"], o["status"], o["rows_loaded"]) for o in outs] == [("projects.csv", "published", 2)]
    c = clean_warehouse
    assert c.execute("select count(*), count(distinct project_code) from raw.projects").fetchone() == (2, 2)
    assert c.execute("select count(*) from audit.submissions").fetchone()[0] == 1
    assert c.execute("select count(*) from audit.loads").fetchone()[0] == 1


# -------------------------------------------------------------------------------- parts and corrections

@pytest.mark.parametrize(("name", "expected"), [
    ("projects_PD_2018_part1of3.csv", ("projects_pd_2018", 1, 3)),
    ("projects PD 2018 - Part 2 of 3.xlsx", ("projects pd 2018", 2, 3)),
    ("projects-part-3-of-3.csv", ("projects", 3, 3)),
    ("projects_2of2.csv", ("projects", 2, 2)),
    ("项目汇总（1／2）.xlsx", ("项目汇总", 1, 2)),
    ("项目汇总(2 of 2).csv", ("项目汇总", 2, 2)),
    ("Projects (Part 1 of 2).CSV", ("projects", 1, 2)),
    ("projects_v2.csv", None),
    ("projects(1).csv", None),  # a browser's "second download": no total, so a correction
    ("projects_part4of3.csv", None),
    ("projects_1of1.csv", None),
])
def test_part_markers(name, expected):
    got = ledger.part_marker(name)
    assert (got and (got.part_set, got.part_no, got.part_total)) == expected


@pytest.mark.slow
def test_a_period_in_two_parts_is_published_once_with_the_rows_of_both(clean_warehouse, tmp_path, monkeypatch):
    from stic.warehouse import dbt_runner as dbt

    incoming = _landing(tmp_path, monkeypatch)
    c = clean_warehouse
    drop(incoming, "PD/projects/2018/projects_PD_2018_part1of2.csv", HEADER + row("P-A-1") + row("P-A-2"))
    [first] = pipeline.ingest_landing().outcomes
    assert first.status == "validated" and first.reason.startswith("waiting for part 2 of 2"), first
    # listed as waiting in the ledger (`stic submissions`), nothing published yet
    assert c.execute("select status, status_reason from audit.submissions").fetchall() == [
        ("validated", first.reason)]
    assert not receipts.receipt_paths(first.submission_id)[0].exists()
    drop(incoming, "PD/projects/2018/projects_PD_2018_part2of2.csv", HEADER + row("P-B-1"))
    outs = pipeline.ingest_landing().outcomes
    assert {(o.original_name, o.status) for o in outs} == {
        ("projects_PD_2018_part1of2.csv", "published"), ("projects_PD_2018_part2of2.csv", "published")}, outs
    # part 1 waited: it was published only after part 2 had arrived
    assert c.execute("select (select min(published_at) from audit.submissions) > "
                     "(select max(received_at) from audit.submissions)").fetchone()[0]
    for o in outs:  # both receipts written
        assert json.loads(receipts.receipt_paths(o.submission_id)[0].read_text(encoding="utf-8"))["status"] == "published"
    dbt.run(["build", "--select", "+fct_projects", "--indirect-selection", "cautious"], quiet=True)
    codes = [r[0] for r in c.execute("select project_code from marts.fct_projects order by 1")]
    assert codes == ["P-A-1", "P-A-2", "P-B-1"]


def test_a_correction_after_parts_states_what_it_changed(clean_warehouse, tmp_path, monkeypatch):
    incoming = _landing(tmp_path, monkeypatch)
    c = clean_warehouse
    drop(incoming, "PD/projects/2018/projects_1of2.csv", HEADER + row("P-1") + row("P-2"))
    drop(incoming, "PD/projects/2018/projects_2of2.csv", HEADER + row("P-3"))
    assert {o.status for o in pipeline.ingest_landing().outcomes} == {"published"}
    # the correction: P-1 changed, P-2 unchanged, P-3 removed, P-4 added
    drop(incoming, "PD/projects/2018/projects_v2.csv",
         HEADER + row("P-1", municipal=2_000_000) + row("P-2") + row("P-4"))
    [corr] = pipeline.ingest_landing().outcomes
    assert corr.status == "published"
    got = subs(c)
    assert got["projects_1of2.csv"][1] == got["projects_2of2.csv"][1] == "superseded"
    reason = got["projects_1of2.csv"][2]
    assert reason.startswith(f"corrected by submission {corr.submission_id}: 1 rows added, 1 removed, 1 changed")
    data = json.loads(receipts.receipt_paths(corr.submission_id)[0].read_text(encoding="utf-8"))
    cor = data["correction"]
    assert (cor["rows_added"], cor["rows_removed"], cor["rows_changed"], cor["rows_unchanged"]) == (1, 1, 1, 1)
    assert cor["replaces"] == sorted([got["projects_1of2.csv"][0], got["projects_2of2.csv"][0]])
    assert cor["examples"] == {"added": ["P-4"], "removed": ["P-3"],
                               "changed": [{"key": "P-1", "columns": ["funding_municipal_yuan"]}]}
    html = receipts.receipt_paths(corr.submission_id)[1].read_text(encoding="utf-8")
    assert "This submission corrects" in html and "P-4" in html
    old = json.loads(receipts.receipt_paths(got["projects_1of2.csv"][0])[0].read_text(encoding="utf-8"))
    assert old["status"] == "superseded" and old["status_reason"] == reason
    # the superseded receipt's first line says so
    old_html = receipts.receipt_paths(got["projects_1of2.csv"][0])[1].read_text(encoding="utf-8")
    status_line = old_html.split('<p id="status">')[1].split("</p>")[0]
    assert "superseded" in status_line and f"corrected by submission {corr.submission_id}" in status_line


# ---------------------------------------------------------------------------------- append-only audit trail

def _as(url: str, role: str) -> psycopg.Connection:
    p = urlparse(url)
    netloc = f"{role}@{p.hostname}:{p.port}" if p.hostname else f"{role}@"
    return psycopg.connect(urlunparse(p._replace(netloc=netloc)), autocommit=True)


@pytest.mark.parametrize("statement", [
    "delete from audit.submission_events",
    "update audit.submission_events set detail = 'nothing happened'",
    "delete from audit.rejected_rows",
    "update audit.validation_results set success = true",
    "delete from audit.validation_runs",
])
def test_the_loader_cannot_rewrite_the_audit_trail(clean_warehouse, fixture_file, warehouse_url, statement):
    c = clean_warehouse
    out = pipeline.ingest_file(fixture_file("pipeline/projects_bad_rows.csv"), submitter="YP", kind="projects",
                               period="2018")
    assert out.status == "published"
    roles.apply(c)
    with _as(warehouse_url, roles.LOADER) as loader:
        loader.execute("insert into audit.submission_events (submission_id, to_status, detail) "
                       "values (%s, 'published', 'appended')", (out.submission_id,))  # appending is allowed
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            loader.execute(statement)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # nor the owner, short of disabling the trigger
        c.execute(statement)
    assert c.execute("select count(*) from audit.submission_events where submission_id = %s",
                     (out.submission_id,)).fetchone()[0] == 5
