"""Housekeeping: real archive, real files. (Failure alerts: tests/dags/test_alerts.py.)"""

from __future__ import annotations

import os
import time

import pytest

from stic import ledger, pipeline
from stic.ops import maintenance
from tests.conftest import FIXTURES


def test_verify_archive_finds_a_tampered_original(clean_warehouse):
    out = pipeline.ingest_file(FIXTURES / "pipeline" / "projects_ok.csv", submitter="PD", kind="projects", period="2018")
    assert maintenance.verify_archive()["checked"] >= 1
    sha = ledger.get(clean_warehouse, out.submission_id)["sha256"]
    path = ledger.archive_path_for(sha)
    original = path.read_bytes()
    try:
        path.write_bytes(original.replace(b"P-OK-1", b"P-XX-1"))
        with pytest.raises(maintenance.ArchiveDamaged, match="content changed"):
            maintenance.verify_archive()
    finally:
        path.write_bytes(original)


def test_prune_logs_removes_only_old_files(tmp_path):
    old, new = tmp_path / "dag_id=x" / "old.log", tmp_path / "dag_id=y" / "new.log"
    for p in (old, new):
        p.parent.mkdir(parents=True)
        p.write_text("log")
    past = time.time() - 40 * 86400
    os.utime(old, (past, past))
    assert maintenance.prune_logs(tmp_path, older_than_days=30)["removed"] == 1
    assert not old.exists() and new.exists() and not old.parent.exists()


def test_archiving_a_large_file_keeps_memory_flat(tmp_path):
    """The archive copies in 1 MB chunks: a 200 MB file must not pass through memory (it once read half)."""
    import subprocess
    import sys

    big = tmp_path / "big.csv"
    with big.open("wb") as f:
        block = os.urandom(1 << 20)
        for _ in range(200):
            f.write(block)
    script = (
        "import resource, sys; from pathlib import Path; from stic import ledger\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "sha, _ = ledger.sha256_file(Path(sys.argv[1])); ledger.archive(Path(sys.argv[1]), sha)\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n"
    )
    env = {**os.environ, "STIC_LANDING_DIR": str(tmp_path / "landing")}
    out = subprocess.run([sys.executable, "-c", script, str(big)], env=env, capture_output=True, text=True, check=True)
    grew_mb = int(out.stdout.strip())
    assert grew_mb < 32, f"archiving a 200 MB file grew peak RSS by {grew_mb} MB"
    [kept] = [p for p in (tmp_path / "landing" / "archive").rglob("*") if p.is_file()]
    assert ledger.sha256_file(kept) == ledger.sha256_file(big)
