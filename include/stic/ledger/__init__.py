"""The submission ledger (audit.submissions): register what arrived, archive its bytes, move its status."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from stic import faults
from stic.config import settings
from stic.contract.kinds import KINDS, SubmissionRuleError, check_submission

log = logging.getLogger(__name__)

TERMINAL = ("published", "rejected", "duplicate", "superseded")


@dataclass
class Registration:
    submission_id: int
    status: str
    is_new: bool
    duplicate_of: int | None = None


# A part marker states the part's number AND the number of parts (otherwise nobody could know when the
# set is complete), at the end of the file name's stem: "_part1of3", "-part-2-of-3", " part 3 of 3",
# "_1of3", "-2of3", "（1／3）", "(1 of 3)", "(part 1 of 3)" (an ASCII "/" cannot be in a file name; the
# full-width ／ can). Case does not matter. Anything else (…_v2, …(1)) is a correction of the period.
_PART_MARKERS = (
    re.compile(r"(?:^|[\s_.-])part[\s_-]?(\d{1,2})[\s_-]?of[\s_-]?(\d{1,2})$", re.I),
    re.compile(r"(?:^|[\s_.-])(\d{1,2})of(\d{1,2})$", re.I),
    re.compile(r"\s*[(（]\s*(?:part\s*)?(\d{1,2})\s*(?:／|of)\s*(\d{1,2})\s*[)）]$", re.I),
)


@dataclass(frozen=True)
class PartMarker:
    part_set: str  # the file name without the marker and extension, lower case: what the parts share
    part_no: int
    part_total: int


def part_marker(name: str) -> PartMarker | None:
    """The part a file name says it is (see _PART_MARKERS), or None for a whole submission."""
    stem = Path(name).stem.strip()
    for pattern in _PART_MARKERS:
        m = pattern.search(stem)
        if m:
            no, total = int(m.group(1)), int(m.group(2))
            if 1 <= no <= total and total >= 2:
                base = stem[: m.start()].strip(" _.-").lower()
                return PartMarker(base, no, total)
    return None


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
        if sub["part_total"]:
            return _publish_part(conn, sub)
        newer = conn.execute(
            "select submission_id from audit.submissions where submitter_code = %s and kind = %s and period = %s "
            "and channel = 'file' and status = 'published' and submission_id > %s order by submission_id desc limit 1",
            (sub["submitter_code"], sub["kind"], sub["period"], submission_id),
        ).fetchone()
        if newer:
            set_status(conn, submission_id, "superseded", f"a later correction (submission {newer[0]}) is already published",
                       superseded_by=newer[0])
            return "superseded"
        _replace_published(conn, sub, [submission_id])
        set_status(conn, submission_id, "published", "passed validation")
        return "published"


def _published_files(conn: psycopg.Connection, sub: dict) -> list[int]:
    return [r[0] for r in conn.execute(
        "select submission_id from audit.submissions where submitter_code = %s and kind = %s and period = %s "
        "and channel = 'file' and status = 'published' order by submission_id",
        (sub["submitter_code"], sub["kind"], sub["period"]),
    )]


def _replace_published(conn: psycopg.Connection, sub: dict, members: list[int]) -> None:
    """Supersede what is published for the key and is not among `members` (the new publication), recording
    the correction's difference by business key against what was published before."""
    before = _published_files(conn, sub)
    replaced = [s for s in before if s not in members]
    if not replaced:
        return
    new = [m for m in members if m not in before]
    try:
        with conn.transaction():  # a savepoint: the difference is for the receipt, it must not block publication
            diff = correction_diff(conn, sub["kind"], before, members)
    except psycopg.Error:
        log.exception("submission(s) %s: the correction's difference could not be computed", members)
        diff = None
    if diff is None:
        for old in replaced:
            set_status(conn, old, "superseded", f"corrected by submission {', '.join(map(str, new or members))}",
                       superseded_by=max(members))
        return
    for m in new:
        conn.execute(
            "insert into audit.corrections (submission_id, replaces, published_with, business_key, rows_added, "
            "rows_removed, rows_changed, rows_unchanged, examples) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (m, replaced, members, diff["business_key"], diff["added"], diff["removed"], diff["changed"],
             diff["unchanged"], json.dumps(diff["examples"], ensure_ascii=False)),
        )
    by = max(members)
    what = (f"{diff['added']} rows added, {diff['removed']} removed, {diff['changed']} changed "
            f"(by {diff['business_key']})")
    for old in replaced:
        set_status(conn, old, "superseded",
                   f"corrected by submission {', '.join(map(str, new or members))}: {what}", superseded_by=by)


def _publish_part(conn: psycopg.Connection, sub: dict) -> str:
    """A part is published with the other parts of its set, once every part has arrived and passed validation.

    The newest copy of each part number counts (a part sent again replaces its earlier copy); until the set
    is complete its parts wait as `validated`, their reason naming the parts still missing.
    """
    rows = conn.execute(
        "select submission_id, part_no, status from audit.submissions where submitter_code = %s and kind = %s "
        "and period = %s and channel = 'file' and part_set = %s and part_total = %s "
        "and status in ('validated', 'published') order by submission_id",
        (sub["submitter_code"], sub["kind"], sub["period"], sub["part_set"], sub["part_total"]),
    ).fetchall()
    latest: dict[int, tuple[int, str]] = {}
    for sid, no, status in rows:
        latest[no] = (sid, status)
    total = sub["part_total"]
    missing = [n for n in range(1, total + 1) if n not in latest]
    if missing:
        reason = (f"waiting for part{'s' if len(missing) > 1 else ''} {','.join(map(str, missing))} of {total}: "
                  f"the parts are published together once all have arrived")
        for sid, status in latest.values():
            if status == "validated":
                note(conn, sid, reason)
        return "validated"
    members = sorted(sid for sid, _ in latest.values())
    stale = [sid for sid, _no, status in rows if status == "validated" and sid not in members]
    for sid in stale:
        set_status(conn, sid, "superseded", f"the same part was sent again (submission set {members})",
                   superseded_by=max(members))
    newer = conn.execute(
        "select submission_id from audit.submissions where submitter_code = %s and kind = %s and period = %s "
        "and channel = 'file' and status = 'published' and submission_id > %s and submission_id <> all(%s) "
        "order by submission_id desc limit 1",
        (sub["submitter_code"], sub["kind"], sub["period"], max(members), members),
    ).fetchone()
    waiting = [sid for sid, status in latest.values() if status == "validated"]
    if newer:
        for sid in waiting:
            set_status(conn, sid, "superseded", f"a later correction (submission {newer[0]}) is already published",
                       superseded_by=newer[0])
        return get(conn, sub["submission_id"])["status"]
    _replace_published(conn, sub, members)
    for sid in sorted(waiting):
        set_status(conn, sid, "published", f"passed validation; published with the other parts ({len(members)} of "
                                           f"{total}: submissions {', '.join(map(str, members))})")
    return get(conn, sub["submission_id"])["status"]


def correction_diff(conn: psycopg.Connection, kind: str, before: list[int], after: list[int],
                    examples: int = 10) -> dict:
    """Rows added, removed and changed from the submissions `before` to `after`, matched by business key."""
    from psycopg import sql

    k = KINDS[kind]
    cols = [c for c in k.column_names if c != k.key]
    table = sql.Identifier("raw", k.raw_table)
    row_json = sql.SQL("jsonb_build_object({})").format(
        sql.SQL(", ").join(sql.SQL("{}, {}").format(sql.Literal(c), sql.Identifier(c)) for c in cols))
    side = sql.SQL(
        "select distinct on ({key}) {key}::text as k, {row} as j from {t} where submission_id = any(%s) "
        "order by {key}, submission_id desc, source_row_number"
    )
    q = sql.SQL(
        "with new as ({new}), old as ({old}), paired as ("
        " select coalesce(new.k, old.k) as k, new.j as nj, old.j as oj from new full join old on new.k = old.k) "
        "select count(*) filter (where oj is null), count(*) filter (where nj is null), "
        " count(*) filter (where nj <> oj), count(*) filter (where nj = oj), "
        " (array_agg(k order by k) filter (where oj is null))[1:{n}], "
        " (array_agg(k order by k) filter (where nj is null))[1:{n}], "
        " (array_agg(jsonb_build_object('key', k, 'columns', (select array_agg(e.key order by e.key) "
        "   from jsonb_each(nj) e where e.value is distinct from oj -> e.key)) order by k) "
        "   filter (where nj <> oj))[1:{n}] "
        "from paired"
    ).format(new=side.format(key=sql.Identifier(k.key), row=row_json, t=table),
             old=side.format(key=sql.Identifier(k.key), row=row_json, t=table), n=sql.Literal(examples))
    added, removed, changed, unchanged, ex_added, ex_removed, ex_changed = conn.execute(q, (after, before)).fetchone()
    return {"business_key": k.key, "added": added, "removed": removed, "changed": changed, "unchanged": unchanged,
            "examples": {"added": ex_added or [], "removed": ex_removed or [], "changed": ex_changed or []}}


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


ERROR_EVENT = "error"


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
