"""Housekeeping for a warehouse that runs for years: archive integrity, old Airflow logs, docs, freshness."""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from stic import ledger
from stic.config import settings
from stic.warehouse import db

log = logging.getLogger(__name__)


class ArchiveDamaged(RuntimeError):
    pass


def verify_archive(url: str | None = None) -> dict:
    """Re-hash every archived original the ledger points to; missing or altered bytes are an error.

    Also removes the temp files of archive copies a crash interrupted (`.incoming-*`, older than a day).
    """
    cutoff = time.time() - 86400
    stale = [p for p in (settings().archive_dir / "sha256").glob("*/.incoming-*") if p.stat().st_mtime < cutoff]
    for p in stale:
        p.unlink(missing_ok=True)
    checked, problems = 0, []
    with db.connect(url) as conn:
        rows = conn.execute("select distinct sha256, archive_path from audit.submissions").fetchall()
    for sha, rel in rows:
        path = settings().landing_dir / rel
        if not path.exists():
            problems.append(f"{rel}: missing (sha256 {sha})")
            continue
        got, _ = ledger.sha256_file(path)
        checked += 1
        if got != sha:
            problems.append(f"{rel}: content changed (sha256 now {got}, ledger says {sha})")
    if problems:
        raise ArchiveDamaged(f"{len(problems)} archived original(s) damaged: " + "; ".join(problems[:20]))
    log.info("archive verified: %d originals intact; %d stale temp files removed", checked, len(stale))
    return {"checked": checked, "stale_temp_files_removed": len(stale)}


NIGHTLY_VARS = "{stic_nightly_tests: true}"


def test_whole_warehouse(url: str | None = None) -> dict:
    """Every dbt test on the warehouse, the nightly ones too (tag `nightly`: the tests of the ranking views,
    which read every row a kind ever had; dbt_project.yml leaves them out of the builds).

    Runs in a target folder of its own: the nightly var makes dbt parse the project again, and the builds'
    partial-parse state and run results stay as they are. Raises DbtFailed naming every failing test.
    """
    from stic.warehouse import dbt_runner as dbt

    target = settings().data_dir / "dbt-nightly"
    t0 = time.monotonic()
    res = dbt.run(["test", "--vars", NIGHTLY_VARS, "--target-path", str(target)], url=url, quiet=True)
    results = list(getattr(res, "results", []) or [])
    nightly = sum(1 for r in results if "nightly" in (getattr(r.node, "tags", None) or []))
    out = {"tests": len(results), "nightly_tests": nightly, "seconds": round(time.monotonic() - t0, 1)}
    log.info("whole-warehouse dbt tests passed: %s", out)
    return out


def prune_logs(log_dir: Path, older_than_days: float | None = None) -> dict:
    """Delete Airflow task-log files older than the retention (STIC_LOG_RETENTION_DAYS, default 30)."""
    days = older_than_days if older_than_days is not None else float(os.environ.get("STIC_LOG_RETENTION_DAYS", "30"))
    cutoff = time.time() - days * 86400
    removed = 0
    log_dir = Path(log_dir)
    if not log_dir.exists():
        return {"removed": 0}
    for p in sorted(log_dir.rglob("*"), reverse=True):  # files before their folders
        if p.is_file() and p.stat().st_mtime < cutoff:
            p.unlink()
            removed += 1
        elif p.is_dir() and not any(p.iterdir()):
            shutil.rmtree(p, ignore_errors=True)
    log.info("pruned %d log files older than %s days from %s", removed, days, log_dir)
    return {"removed": removed, "retention_days": days}


def clean_airflow_db(older_than_days: float | None = None, dry_run: bool = False) -> dict:
    """`airflow db clean` of metadata rows (runs, task instances, XComs, logs, jobs) older than the retention.

    STIC_AIRFLOW_DB_RETENTION_DAYS (default 30): a 15-minute DAG makes 96 runs a day, and every run keeps its
    task instances, XComs and log rows; an unpruned metadata database slows the scheduler and the UI. Nothing is
    archived (the archive tables would grow instead); a table that cannot be cleaned fails the call.
    """
    import subprocess
    from datetime import UTC, datetime, timedelta

    from stic.ops import airflow_env

    days = older_than_days if older_than_days is not None else \
        float(os.environ.get("STIC_AIRFLOW_DB_RETENTION_DAYS", "30"))
    before = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
    args = [airflow_env.airflow_bin(), "db", "clean", "--clean-before-timestamp", before, "--yes",
            "--skip-archive", "--error-on-cleanup-failure", *(["--dry-run"] if dry_run else [])]
    # The caller's own environment: inside a task that is the deployment's metadata database.
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"airflow db clean (before {before}) failed (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout)[-2000:]}")
    log.info("airflow metadata rows older than %s days (before %s) removed", days, before)
    return {"retention_days": days, "clean_before": before, "dry_run": dry_run}
