"""Publication: a validated submission becomes the one the marts show for its key, superseding what it corrects."""

from __future__ import annotations

import json
import logging

import psycopg

from stic.contract.kinds import KINDS
from stic.ledger.status import Status, note, transition
from stic.ledger.submissions import get, key_lock

log = logging.getLogger(__name__)


def publish(conn: psycopg.Connection, submission_id: int) -> str:
    """validated -> published, superseding the earlier published submission of the same key.

    A submission that is older than one already published for its key is superseded instead:
    the newest submission for a submitter, kind and period is the one in the marts.
    """
    with conn.transaction():
        sub = get(conn, submission_id)
        key_lock(conn, sub["submitter_code"], sub["kind"], sub["period"])
        sub = get(conn, submission_id)
        if sub["status"] != Status.VALIDATED:
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
                transition(conn, old, Status.PUBLISHED, Status.SUPERSEDED,
                           f"the same interval was pulled again (submission {submission_id})", superseded_by=submission_id)
            return transition(conn, submission_id, Status.VALIDATED, Status.PUBLISHED, "passed validation")
        if sub["part_total"]:
            return _publish_part(conn, sub)
        newer = conn.execute(
            "select submission_id from audit.submissions where submitter_code = %s and kind = %s and period = %s "
            "and channel = 'file' and status = 'published' and submission_id > %s order by submission_id desc limit 1",
            (sub["submitter_code"], sub["kind"], sub["period"], submission_id),
        ).fetchone()
        if newer:
            return transition(conn, submission_id, Status.VALIDATED, Status.SUPERSEDED,
                              f"a later correction (submission {newer[0]}) is already published", superseded_by=newer[0])
        _replace_published(conn, sub, [submission_id])
        return transition(conn, submission_id, Status.VALIDATED, Status.PUBLISHED, "passed validation")


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
            transition(conn, old, Status.PUBLISHED, Status.SUPERSEDED,
                       f"corrected by submission {', '.join(map(str, new or members))}", superseded_by=max(members))
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
        transition(conn, old, Status.PUBLISHED, Status.SUPERSEDED,
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
            if status == Status.VALIDATED:
                note(conn, sid, reason)
        return Status.VALIDATED
    members = sorted(sid for sid, _ in latest.values())
    stale = [sid for sid, _no, status in rows if status == Status.VALIDATED and sid not in members]
    for sid in stale:
        transition(conn, sid, Status.VALIDATED, Status.SUPERSEDED, f"the same part was sent again (submission set {members})",
                   superseded_by=max(members))
    newer = conn.execute(
        "select submission_id from audit.submissions where submitter_code = %s and kind = %s and period = %s "
        "and channel = 'file' and status = 'published' and submission_id > %s and submission_id <> all(%s) "
        "order by submission_id desc limit 1",
        (sub["submitter_code"], sub["kind"], sub["period"], max(members), members),
    ).fetchone()
    waiting = [sid for sid, status in latest.values() if status == Status.VALIDATED]
    if newer:
        for sid in waiting:
            transition(conn, sid, Status.VALIDATED, Status.SUPERSEDED, f"a later correction (submission {newer[0]}) is already published",
                       superseded_by=newer[0])
        return get(conn, sub["submission_id"])["status"]
    _replace_published(conn, sub, members)
    for sid in sorted(waiting):
        transition(conn, sid, Status.VALIDATED, Status.PUBLISHED, f"passed validation; published with the other parts ({len(members)} of "
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
