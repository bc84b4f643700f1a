"""The submission ledger (audit.submissions): register what arrived, archive its bytes, move its status."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from stic import faults
from stic.config import settings
from stic.kinds import SubmissionRuleError, check_submission

log = logging.getLogger(__name__)

TERMINAL = ("published", "rejected", "duplicate", "superseded")


@dataclass
class Registration:
    submission_id: int
    status: str
    is_new: bool
    duplicate_of: int | None = None


def sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    n = 0
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def archive_path_for(sha256: str) -> Path:
    return settings().archive_dir / "sha256" / sha256[:2] / sha256


def archive(path: Path, sha256: str) -> Path:
    """Keep the original bytes, content-addressed; atomic (a crash leaves no half-written archive file)."""
    dest = archive_path_for(sha256)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as out, Path(path).open("rb") as src:
            # In 1 MB chunks (memory flat in file size), with the crash point half-way through.
            half, copied = max(1, Path(path).stat().st_size // 2), 0
            while copied < half and (chunk := src.read(min(1 << 20, half - copied))):
                out.write(chunk)
                copied += len(chunk)
            faults.point("archive.partial")
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        got, _ = sha256_file(Path(tmp))
        if got != sha256:
            raise OSError(f"{path} changed while it was archived (sha256 {got} != {sha256}); it will be picked up again")
        os.replace(tmp, dest)
        faults.point("archive.renamed")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def key_lock(conn: psycopg.Connection, submitter: str, kind: str, period: str) -> None:
    """Serialise everything that decides a (submitter, kind, period)'s ledger state, until the transaction ends."""
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"stic.submission:{submitter}:{kind}:{period}",))


# Held shared by every transaction that publishes or unpublishes a submission, exclusively by the dbt models
# that read the ledger incrementally (macro incremental_changed_keys): such a model sees every publication
# with a timestamp before its own read, and every later one gets a later timestamp.
PUBLICATION_LOCK = "stic.ledger.publication"


def set_status(conn: psycopg.Connection, submission_id: int, status: str, reason: str | None = None, **fields) -> None:
    prev = conn.execute(
        "select status from audit.submissions where submission_id = %s", (submission_id,)
    ).fetchone()[0]
    if status in ("published", "superseded") or prev == "published":
        conn.execute("select pg_advisory_xact_lock_shared(hashtext(%s))", (PUBLICATION_LOCK,))
    # The time of the change itself, taken after the lock (now() is the transaction's start).
    changed_at = conn.execute("select clock_timestamp()").fetchone()[0]
    if status == "published":
        fields.setdefault("published_at", changed_at)
    cols = ", ".join(f"{k} = %({k})s" for k in fields)
    params = {"id": submission_id, "status": status, "reason": reason, "changed_at": changed_at, **fields}
    conn.execute(
        f"update audit.submissions set status = %(status)s, status_reason = coalesce(%(reason)s, status_reason), "
        f"status_changed_at = %(changed_at)s{', ' + cols if cols else ''} where submission_id = %(id)s",
        params,
    )
    conn.execute(
        "insert into audit.submission_events (submission_id, from_status, to_status, detail) values (%s, %s, %s, %s)",
        (submission_id, prev, status, reason),
    )


def register(
    conn: psycopg.Connection,
    path: Path,
    *,
    submitter: str,
    kind: str,
    period: str,
    channel: str = "file",
    landing_path: str | None = None,
    original_name: str | None = None,
) -> Registration:
    """Archive the file and record it in the ledger; a file already seen is found, not recorded twice."""
    path = Path(path)
    sha, size = sha256_file(path)
    if landing_path is not None:
        row = conn.execute(
            "select submission_id, status from audit.submissions where landing_path = %s and sha256 = %s",
            (landing_path, sha),
        ).fetchone()
        if row:
            return Registration(row[0], row[1], is_new=False)
    archived = archive(path, sha)
    name = original_name or path.name
    rel_archive = os.path.relpath(archived, settings().landing_dir)
    with conn.transaction():
        key_lock(conn, submitter, kind, period)
        if landing_path is not None:
            row = conn.execute(
                "select submission_id, status from audit.submissions where landing_path = %s and sha256 = %s",
                (landing_path, sha),
            ).fetchone()
            if row:  # another worker registered it while we archived
                return Registration(row[0], row[1], is_new=False)
        try:
            check_submission(submitter, kind, period)
            rule_error = None
        except SubmissionRuleError as e:
            rule_error = str(e)
        same = conn.execute(
            "select submission_id, status from audit.submissions where sha256 = %s and submitter_code = %s and kind = %s "
            "and period = %s and status not in ('rejected', 'duplicate') order by submission_id limit 1",
            (sha, submitter, kind, period),
        ).fetchone()
        if same and same[1] in ("received", "parsed", "validated") and landing_path is None:
            # The same bytes sent again while the first copy is unfinished (e.g. after a crash): carry that one on.
            return Registration(same[0], same[1], is_new=False)
        sub_id = conn.execute(
            "insert into audit.submissions (submitter_code, kind, period, channel, original_name, landing_path, "
            "archive_path, sha256, bytes) values (%s, %s, %s, %s, %s, %s, %s, %s, %s) returning submission_id",
            (submitter, kind, period, channel, name, landing_path, rel_archive, sha, size),
        ).fetchone()[0]
        conn.execute(
            "insert into audit.submission_events (submission_id, from_status, to_status, detail) values (%s, null, 'received', %s)",
            (sub_id, f"{channel}: {name} ({size} bytes, sha256 {sha[:12]}…)"),
        )
        if rule_error:
            set_status(conn, sub_id, "rejected", rule_error)
            return Registration(sub_id, "rejected", is_new=True)
        if same:
            set_status(conn, sub_id, "duplicate", f"same bytes as submission {same[0]}; nothing loaded again",
                       duplicate_of=same[0], rows_loaded=0)  # nothing of it was loaded: 0, not unknown
            return Registration(sub_id, "duplicate", is_new=True, duplicate_of=same[0])
    faults.point("ledger.registered")
    log.info("registered submission %s: %s %s %s %s", sub_id, submitter, kind, period, name)
    return Registration(sub_id, "received", is_new=True)


def get(conn: psycopg.Connection, submission_id: int) -> dict:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("select * from audit.submissions where submission_id = %s", (submission_id,)).fetchone()
    if row is None:
        raise LookupError(f"no submission {submission_id} in the ledger")
    return row


def publish(conn: psycopg.Connection, submission_id: int) -> str:
    """validated -> published, superseding the earlier published submission of the same key.

    A submission that is older than one already published for its key is superseded instead:
    the newest submission for a submitter, kind and period is the one in the marts.
    """
    with conn.transaction():
        sub = get(conn, submission_id)
        key_lock(conn, sub["submitter_code"], sub["kind"], sub["period"])
        sub = get(conn, submission_id)
        if sub["status"] != "validated":
            return sub["status"]
        if sub["channel"] == "api":
            # Agency pulls are deltas of an interval: each adds to the feed. A re-pull of the same interval
            # (same original name) whose content changed replaces the earlier pull, so nothing counts twice.
            earlier = conn.execute(
                "select submission_id from audit.submissions where submitter_code = %s and kind = %s and period = %s "
                "and channel = 'api' and original_name = %s and status = 'published' and submission_id < %s",
                (sub["submitter_code"], sub["kind"], sub["period"], sub["original_name"], submission_id),
            ).fetchall()
            for (old,) in earlier:
                set_status(conn, old, "superseded", f"the same interval was pulled again (submission {submission_id})",
                           superseded_by=submission_id)
            set_status(conn, submission_id, "published", "passed validation")
            return "published"
        newer = conn.execute(
            "select submission_id from audit.submissions where submitter_code = %s and kind = %s and period = %s "
            "and channel = 'file' and status = 'published' and submission_id > %s order by submission_id desc limit 1",
            (sub["submitter_code"], sub["kind"], sub["period"], submission_id),
        ).fetchone()
        if newer:
            set_status(conn, submission_id, "superseded", f"a later correction (submission {newer[0]}) is already published",
                       superseded_by=newer[0])
            return "superseded"
        older = conn.execute(
            "select submission_id from audit.submissions where submitter_code = %s and kind = %s and period = %s "
            "and channel = 'file' and status = 'published' and submission_id < %s",
            (sub["submitter_code"], sub["kind"], sub["period"], submission_id),
        ).fetchall()
        for (old,) in older:
            set_status(conn, old, "superseded", f"corrected by submission {submission_id}", superseded_by=submission_id)
        set_status(conn, submission_id, "published", "passed validation")
        return "published"
