"""Submissions in the ledger (audit.submissions): register what arrived, find it again, and what is waiting."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from stic import faults
from stic.config import settings
from stic.contract.kinds import SubmissionRuleError, check_submission
from stic.ledger.archive import archive, sha256_file
from stic.ledger.parts import part_marker
from stic.ledger.status import UNFINISHED, Status, transition

log = logging.getLogger(__name__)


@dataclass
class Registration:
    submission_id: int
    status: Status
    is_new: bool
    duplicate_of: int | None = None


def key_lock(conn: psycopg.Connection, submitter: str, kind: str, period: str) -> None:
    """Serialise everything that decides a (submitter, kind, period)'s ledger state, until the transaction ends."""
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"stic.submission:{submitter}:{kind}:{period}",))


@contextmanager
def submitter_lock(conn: psycopg.Connection, submitter: str) -> Iterator[None]:
    """One submitter's submissions are processed one at a time, whichever worker picks them up (a session
    lock: it spans the steps, each its own transaction)."""
    lock = f"stic.submitter:{submitter}"
    conn.execute("select pg_advisory_lock(hashtext(%s))", (lock,))
    try:
        yield
    finally:
        conn.execute("select pg_advisory_unlock(hashtext(%s))", (lock,))


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
            return Registration(row[0], Status(row[1]), is_new=False)
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
                return Registration(row[0], Status(row[1]), is_new=False)
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
        if same and same[1] in UNFINISHED and landing_path is None:
            # The same bytes sent again while the first copy is unfinished (e.g. after a crash): carry that one on.
            return Registration(same[0], Status(same[1]), is_new=False)
        part = part_marker(name) if channel == "file" else None
        sub_id = conn.execute(
            "insert into audit.submissions (submitter_code, kind, period, channel, original_name, landing_path, "
            "archive_path, sha256, bytes, part_set, part_no, part_total) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) returning submission_id",
            (submitter, kind, period, channel, name, landing_path, rel_archive, sha, size,
             part and part.part_set, part and part.part_no, part and part.part_total),
        ).fetchone()[0]
        conn.execute(
            "insert into audit.submission_events (submission_id, from_status, to_status, detail) values (%s, null, 'received', %s)",
            (sub_id, f"{channel}: {name} ({size} bytes, sha256 {sha[:12]}…)"),
        )
        if rule_error:
            transition(conn, sub_id, Status.RECEIVED, Status.REJECTED, rule_error)
            return Registration(sub_id, Status.REJECTED, is_new=True)
        if same:
            transition(conn, sub_id, Status.RECEIVED, Status.DUPLICATE,
                       f"same bytes as submission {same[0]}; nothing loaded again",
                       duplicate_of=same[0], rows_loaded=0)  # nothing of it was loaded: 0, not unknown
            return Registration(sub_id, Status.DUPLICATE, is_new=True, duplicate_of=same[0])
    faults.point("ledger.registered")
    log.info("registered submission %s: %s %s %s %s", sub_id, submitter, kind, period, name)
    return Registration(sub_id, Status.RECEIVED, is_new=True)


def get(conn: psycopg.Connection, submission_id: int) -> dict:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("select * from audit.submissions where submission_id = %s", (submission_id,)).fetchone()
    if row is None:
        raise LookupError(f"no submission {submission_id} in the ledger")
    return row


def landing_seen(conn: psycopg.Connection) -> set[tuple[str, str]]:
    """(landing path, sha256) of every landing file already in the ledger."""
    return {(r[0], r[1]) for r in conn.execute(
        "select landing_path, sha256 from audit.submissions where landing_path is not null")}


def unfinished(conn: psycopg.Connection) -> list[tuple[int, str]]:
    """(submission id, landing path or original name) of every submission with work left, in id order."""
    return [(r[0], r[1]) for r in conn.execute(
        "select submission_id, coalesce(landing_path, original_name) from audit.submissions "
        "where status = any(%s) order by 1", ([s.value for s in UNFINISHED],))]


def published_before(conn: psycopg.Connection, sub: dict) -> list[int]:
    """The published submissions of `sub`'s key older than it (those its publication may supersede)."""
    return [r[0] for r in conn.execute(
        "select submission_id from audit.submissions where submitter_code = %s and kind = %s and period = %s "
        "and status = 'published' and submission_id < %s",
        (sub["submitter_code"], sub["kind"], sub["period"], sub["submission_id"]),
    )]


def published_parts(conn: psycopg.Connection, sub: dict) -> list[int]:
    """The other published parts of `sub`'s set."""
    return [r[0] for r in conn.execute(
        "select submission_id from audit.submissions where submitter_code = %s and kind = %s and period = %s "
        "and part_set = %s and part_total = %s and status = 'published' and submission_id <> %s",
        (sub["submitter_code"], sub["kind"], sub["period"], sub["part_set"], sub["part_total"], sub["submission_id"]),
    )]


def add_generated_rows(conn: psycopg.Connection, submission_id: int, rows: int, by: str) -> None:
    """Rows a tool (`by`: the benchmark's fill) put into this submission's load after the loader: its row counts
    include them, and an event says who added how many (the status stays)."""
    row = conn.execute("update audit.submissions set rows_received = rows_received + %(n)s, "
                       "rows_loaded = rows_loaded + %(n)s where submission_id = %(sid)s returning status",
                       {"n": rows, "sid": submission_id}).fetchone()
    if row is None:
        raise LookupError(f"submission {submission_id} is not in the ledger")
    conn.execute(
        "insert into audit.submission_events (submission_id, from_status, to_status, detail) values (%s, %s, %s, %s)",
        (submission_id, row[0], row[0], f"{rows:,} rows generated into its load by {by}"),
    )
