"""The district ingest DAG's batches: a day's drop split over a few task slots, each file still on its own.

A task process costs seconds before it does any work (Airflow's task runner, then `import great_expectations`
alone ~2.5 s); one task per file paid that for each of a drop's ~300 files. A batch pays it once for its files
and takes them one at a time, exactly as `stic ingest --landing` does: each file gets its own outcome, ledger
events and receipt, and a file whose processing fails does not stop the files after it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from stic.config import settings

log = logging.getLogger(__name__)

BATCHES_ENV = "STIC_INGEST_BATCHES"
DEFAULT_BATCHES = 4  # the ingest task's max_active_tis_per_dag: one batch per slot


def _key(item: dict) -> str:
    """submitter/kind/period of a landing path: the files that may supersede or complete each other."""
    return "/".join(item["landing_path"].split("/")[:3])


def _size(incoming: Path, item: dict) -> int:
    try:
        return max(1, (incoming / item["landing_path"]).stat().st_size)
    except (OSError, ValueError):
        return 1


def batches(items: list[dict], n: int | None = None) -> list[list[dict]]:
    """At most n batches of about equal bytes. The files of one submitter, kind and period stay together, in
    the order given (submission id: a correction after the file it corrects, the parts of a set together)."""
    n = max(1, n or int(os.environ.get(BATCHES_ENV) or DEFAULT_BATCHES))
    if not items:
        return []
    incoming = settings().incoming_dir
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(_key(item), []).append(item)
    # Largest group first into the lightest batch (greedy; good enough for a drop of many small files).
    weighted = sorted(groups.values(), key=lambda g: -sum(_size(incoming, i) for i in g))
    out: list[list[dict]] = [[] for _ in range(min(n, len(weighted)))]
    load = [0] * len(out)
    for group in weighted:
        k = load.index(min(load))
        out[k].extend(group)
        load[k] += sum(_size(incoming, i) for i in group)
    for b in out:
        b.sort(key=lambda i: i["submission_id"])
    return [b for b in out if b]


def batch_label(batch: list[dict]) -> str:
    """What the Airflow UI shows for a batch (its map index)."""
    if not batch:
        return "no file"
    first = batch[0]["landing_path"]
    return first if len(batch) == 1 else f"{len(batch)} files: {first} …"


class BatchFailed(RuntimeError):
    """Some files of a batch ended with an internal error; the others were processed."""


def ingest_batch(batch: list[dict], url: str | None = None) -> list[dict]:
    """Each file of the batch as the per-file task did it: process_submission, one after another.

    A file whose processing raises, or ends with an internal error and still unfinished, is logged and the
    batch goes on; at the end BatchFailed names them (the task fails, alerts and retries: a rerun skips the
    files already done). Returns every file's outcome."""
    from stic import ledger
    from stic.pipeline import outcome, process_submission
    from stic.warehouse import db

    outcomes, failed = [], []
    for item in batch:
        try:
            out = process_submission(item["submission_id"], url)
        except Exception as e:  # noqa: BLE001 - this file's failure; the next file still runs
            log.exception("%s: submission %s failed", item["landing_path"], item["submission_id"])
            failed.append(f"submission {item['submission_id']} ({item['landing_path']}): {type(e).__name__}: {e}")
            continue
        log.info("%s: submission %s %s", item["landing_path"], out.submission_id, out.status)
        outcomes.append(out.as_dict())
        if out.error and out.unfinished:
            # Recorded in the ledger (an `error` event); after STIC_MAX_ATTEMPTS errors the pipeline rejects
            # the file with a receipt instead of failing again.
            failed.append(f"submission {out.submission_id} ({out.original_name}): internal error "
                          f"{out.attempts_failed} time(s), still {out.status}: {out.error}")
    # A part waits as `validated` until a later one completes its set: report where each ended.
    waiting = [i for i, o in enumerate(outcomes) if o["status"] not in ledger.TERMINAL and not o["error"]]
    if waiting:
        with db.connect(url, autocommit=True) as conn:
            for i in waiting:
                outcomes[i] = outcome(conn, outcomes[i]["submission_id"], is_new=outcomes[i]["is_new"]).as_dict()
    if failed:
        raise BatchFailed(f"{len(failed)} of {len(batch)} file(s) not finished: " + "; ".join(failed))
    return outcomes


def published_kinds(submission_ids: list[int], url: str | None = None) -> list[str]:
    """The kinds with a submission among these that is published now (the raw assets to announce)."""
    from stic import ledger
    from stic.warehouse import db

    kinds = set()
    with db.connect(url, autocommit=True) as conn:
        for sid in submission_ids:
            sub = ledger.get(conn, sid)
            if sub["status"] == ledger.Status.PUBLISHED:
                kinds.add(sub["kind"])
    return sorted(kinds)
