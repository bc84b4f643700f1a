"""A submission's status, the moves allowed between statuses, and the one guarded way to make a move."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import psycopg
from psycopg.rows import dict_row


class Status(StrEnum):
    """The values of audit.submissions.status (str-valued: a member compares and stores as its text)."""

    RECEIVED = "received"  # registered: bytes archived, nothing read yet
    PARSED = "parsed"  # rows in raw.<kind>, bad rows in audit.rejected_rows
    VALIDATED = "validated"  # passed the kind's critical expectations; waits to be published
    PUBLISHED = "published"  # its rows are the ones the marts show for its key
    REJECTED = "rejected"  # refused (a submission rule, the file, validation, internal errors); nothing published
    DUPLICATE = "duplicate"  # the same bytes as an earlier submission of its key; nothing loaded
    SUPERSEDED = "superseded"  # replaced by a later submission of its key (a correction, a re-pull)


TERMINAL = (Status.PUBLISHED, Status.REJECTED, Status.DUPLICATE, Status.SUPERSEDED)
UNFINISHED = (Status.RECEIVED, Status.PARSED, Status.VALIDATED)

# Every move a status may make. A registration starts as `received` (submissions.register); `published` may
# still be superseded by a correction; the other final statuses never change.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.PARSED, Status.VALIDATED, Status.REJECTED, Status.DUPLICATE}),
    Status.PARSED: frozenset({Status.VALIDATED, Status.REJECTED}),
    Status.VALIDATED: frozenset({Status.PUBLISHED, Status.SUPERSEDED, Status.REJECTED}),
    Status.PUBLISHED: frozenset({Status.SUPERSEDED}),
    Status.REJECTED: frozenset(),
    Status.DUPLICATE: frozenset(),
    Status.SUPERSEDED: frozenset(),
}

# Held shared by every transaction that publishes or unpublishes a submission, exclusively by the dbt models
# that read the ledger incrementally (macro incremental_changed_keys): such a model sees every publication
# with a timestamp before its own read, and every later one gets a later timestamp.
PUBLICATION_LOCK = "stic.ledger.publication"

# audit.submission_events.to_status of an internal error: an event, not a status (the status stays).
ERROR_EVENT = "error"


class TransitionError(RuntimeError):
    """A status change the ledger refused: the submission is not where the caller thought, or the move is not allowed."""


def lock_row(conn: psycopg.Connection, submission_id: int) -> dict:
    """The submission's ledger row, locked (select … for update) until the caller's transaction ends."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("select * from audit.submissions where submission_id = %s for update",
                          (submission_id,)).fetchone()
    if row is None:
        raise LookupError(f"no submission {submission_id} in the ledger")
    return row


def _statuses(s: str | Iterable[str]) -> frozenset[Status]:
    return frozenset({Status(s)} if isinstance(s, str) else {Status(x) for x in s})


def transition(conn: psycopg.Connection, submission_id: int, from_: str | Iterable[str], to: str,
               reason: str | None = None, **fields) -> Status:
    """Move the submission from one of `from_` to `to`, with its reason and the columns `fields`, and record
    the event; TransitionError (and nothing written) if it is elsewhere or the move is not allowed.

    The row is locked (select … for update) for the check and the write, in a savepoint when the caller has
    a transaction open (its lock then lasts until the caller's transaction ends). Returns the status left.
    """
    expected, to = _statuses(from_), Status(to)
    with conn.transaction():
        prev = Status(lock_row(conn, submission_id)["status"])
        if prev not in expected:
            raise TransitionError(
                f"submission {submission_id} is {prev}, not {' or '.join(sorted(expected))}: it cannot be moved to {to}"
                f"{f' ({reason})' if reason else ''}")
        if to not in TRANSITIONS[prev]:
            allowed = ", ".join(sorted(TRANSITIONS[prev])) or "nothing: it is final"
            raise TransitionError(f"submission {submission_id}: {prev} -> {to} is not an allowed move "
                                  f"(from {prev}: {allowed})")
        if to in (Status.PUBLISHED, Status.SUPERSEDED) or prev == Status.PUBLISHED:
            conn.execute("select pg_advisory_xact_lock_shared(hashtext(%s))", (PUBLICATION_LOCK,))
        # The time of the change itself, taken after the lock (now() is the transaction's start).
        changed_at = conn.execute("select clock_timestamp()").fetchone()[0]
        if to == Status.PUBLISHED:
            fields.setdefault("published_at", changed_at)
        cols = ", ".join(f"{k} = %({k})s" for k in fields)
        params = {"id": submission_id, "status": to.value, "reason": reason, "changed_at": changed_at, **fields}
        conn.execute(
            f"update audit.submissions set status = %(status)s, status_reason = coalesce(%(reason)s, status_reason), "
            f"status_changed_at = %(changed_at)s{', ' + cols if cols else ''} where submission_id = %(id)s",
            params,
        )
        conn.execute(
            "insert into audit.submission_events (submission_id, from_status, to_status, detail) values (%s, %s, %s, %s)",
            (submission_id, prev.value, to.value, reason),
        )
    return to


def note(conn: psycopg.Connection, submission_id: int, reason: str) -> None:
    """A new reason for a submission whose status stays (e.g. a part still waiting); recorded once."""
    row = conn.execute("select status, status_reason from audit.submissions where submission_id = %s",
                       (submission_id,)).fetchone()
    if row and row[1] != reason:
        conn.execute("update audit.submissions set status_reason = %s where submission_id = %s", (reason, submission_id))
        conn.execute(
            "insert into audit.submission_events (submission_id, from_status, to_status, detail) values (%s, %s, %s, %s)",
            (submission_id, row[0], row[0], reason),
        )


def record_error(conn: psycopg.Connection, submission_id: int, text: str) -> int:
    """An internal error while processing this submission (its status unchanged); returns how many so far."""
    status = conn.execute("select status from audit.submissions where submission_id = %s", (submission_id,)).fetchone()[0]
    conn.execute(
        "insert into audit.submission_events (submission_id, from_status, to_status, detail) values (%s, %s, %s, %s)",
        (submission_id, status, ERROR_EVENT, text),
    )
    return error_count(conn, submission_id)


def error_count(conn: psycopg.Connection, submission_id: int) -> int:
    return conn.execute(
        "select count(*) from audit.submission_events where submission_id = %s and to_status = %s",
        (submission_id, ERROR_EVENT),
    ).fetchone()[0]
