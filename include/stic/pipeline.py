"""One submission's way through the warehouse: register -> load -> validate -> publish, resumable at any step."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from stic import db, faults, ledger
from stic.config import settings
from stic.load import load_submission
from stic.validate import validate_load

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    submission_id: int
    status: str
    is_new: bool
    reason: str | None
    rows_received: int | None
    rows_loaded: int | None
    rows_quarantined: int | None
    rows_with_warnings: int | None
    original_name: str
    submitter_code: str
    kind: str
    period: str

    def as_dict(self) -> dict:
        return asdict(self)


def process(conn, submission_id: int, url: str | None = None) -> Outcome:
    """Run whatever steps are left for this submission. Every step is its own transaction, so a crash at
    any point leaves a status from which the next call carries on."""
    sub = ledger.get(conn, submission_id)
    # One submitter's submissions are processed one at a time, whichever worker picks them up.
    lock = f"stic.submitter:{sub['submitter_code']}"
    conn.execute("select pg_advisory_lock(hashtext(%s))", (lock,))
    try:
        return _process(conn, submission_id, url)
    finally:
        conn.execute("select pg_advisory_unlock(hashtext(%s))", (lock,))


def _process(conn, submission_id: int, url: str | None) -> Outcome:
    sub = ledger.get(conn, submission_id)
    if sub["status"] == "received":
        load_submission(conn, submission_id)
        sub = ledger.get(conn, submission_id)
    if sub["status"] == "parsed":
        validate_load(conn, submission_id, url=url)
        sub = ledger.get(conn, submission_id)
    if sub["status"] == "validated":
        # A crash may have cut off the receipt of the submission this one corrects: write it while it is
        # still the published one, so its history reads published -> superseded as in an uninterrupted run.
        for (earlier,) in conn.execute(
            "select submission_id from audit.submissions where submitter_code = %s and kind = %s and period = %s "
            "and status = 'published' and submission_id < %s",
            (sub["submitter_code"], sub["kind"], sub["period"], submission_id),
        ).fetchall():
            _write_receipt(conn, earlier)
        ledger.publish(conn, submission_id)
        faults.point("publish.committed")
    _write_receipt(conn, submission_id)
    return outcome(conn, submission_id, is_new=True)


def _write_receipt(conn, submission_id: int) -> None:
    """A receipt must never fail a load; `stic report` backfills one that was missed."""
    try:
        from stic.reports import receipts

        receipts.write_receipt(conn, submission_id)
    except Exception:
        log.exception("receipt of submission %s not written", submission_id)


def outcome(conn, submission_id: int, is_new: bool) -> Outcome:
    s = ledger.get(conn, submission_id)
    return Outcome(
        submission_id=s["submission_id"], status=s["status"], is_new=is_new, reason=s["status_reason"],
        rows_received=s["rows_received"], rows_loaded=s["rows_loaded"], rows_quarantined=s["rows_quarantined"],
        rows_with_warnings=s["rows_with_warnings"], original_name=s["original_name"],
        submitter_code=s["submitter_code"], kind=s["kind"], period=s["period"],
    )


def ingest_file(path: Path, *, submitter: str, kind: str, period: str, landing_path: str | None = None,
                original_name: str | None = None, url: str | None = None) -> Outcome:
    """Register a file and take it as far as it goes. Safe to call again with the same file."""
    url = url or db.warehouse_url()
    with db.connect(url, autocommit=True) as conn:
        db.init_schema(conn)
        reg = ledger.register(conn, path, submitter=submitter, kind=kind, period=period,
                              landing_path=landing_path, original_name=original_name)
        if reg.status in ledger.TERMINAL:
            if reg.is_new:
                _write_receipt(conn, reg.submission_id)
            return outcome(conn, reg.submission_id, is_new=reg.is_new)
        out = process(conn, reg.submission_id, url=url)
        out.is_new = reg.is_new
        return out


@dataclass
class LandingFile:
    path: Path
    landing_path: str  # relative to landing/incoming: SUBMITTER/kind/period/file
    submitter: str
    kind: str
    period: str


class LandingPathError(ValueError):
    pass


def parse_landing_path(incoming: Path, path: Path) -> LandingFile:
    """The submitter, kind and period a landing file's place says; LandingPathError for a path that is not
    a file of the landing area (absolute, '..', a symlink out): nothing outside it is ever read."""
    incoming = Path(incoming)
    path = Path(path)
    if ".." in path.parts or (path.is_absolute() and not path.is_relative_to(incoming)):
        raise LandingPathError(f"{path}: not inside the landing area {incoming}; refused")
    try:
        if not path.resolve().is_relative_to(incoming.resolve()):
            raise LandingPathError(f"{path}: resolves outside the landing area {incoming} (a symlink?); refused")
        rel = path.relative_to(incoming)
    except ValueError as e:
        raise LandingPathError(f"{path}: not inside the landing area {incoming}; refused") from e
    parts = rel.parts
    if len(parts) != 4:
        raise LandingPathError(
            f"{rel}: files belong in landing/incoming/<SUBMITTER>/<kind>/<period>/<file>, e.g. PD/projects/2018/projects.csv"
        )
    submitter, kind, period, _ = parts
    return LandingFile(path, rel.as_posix(), submitter.upper(), kind, period.upper())


def scan_landing(incoming: Path | None = None) -> tuple[list[LandingFile], list[str]]:
    """Files waiting in the landing area, in a stable order; and the paths that are misplaced."""
    incoming = Path(incoming or settings().incoming_dir)
    found, misplaced = [], []
    if not incoming.exists():
        return found, misplaced
    for root, dirs, files in os.walk(incoming, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue  # partial uploads (".name.part") and editor droppings
            p = Path(root) / name
            if p.is_symlink() or not p.is_file():
                misplaced.append(f"{p.relative_to(incoming)}: not a regular file; ignored")
                continue
            try:
                found.append(parse_landing_path(incoming, p))
            except LandingPathError as e:
                misplaced.append(str(e))
    return found, misplaced


def pending_files(url: str | None = None, incoming: Path | None = None) -> list[LandingFile]:
    """Landing files not yet in the ledger (by landing path and content)."""
    files, misplaced = scan_landing(incoming)
    for m in misplaced:
        log.warning("landing area: %s", m)
    if not files:
        return []
    with db.connect(url, autocommit=True) as conn:
        db.init_schema(conn)
        seen = {(r[0], r[1]) for r in conn.execute(
            "select landing_path, sha256 from audit.submissions where landing_path is not null"
        )}
        seen_paths = {p for p, _ in seen}
    out = []
    for f in files:
        if f.landing_path in seen_paths:
            sha, _ = ledger.sha256_file(f.path)
            if (f.landing_path, sha) in seen:
                continue
        out.append(f)
    return out


def register_landing_files(url: str | None = None) -> list[dict]:
    """Register every new landing file, in path order, and return those with work left.

    Registering in one sorted pass gives a correction (…_v2.csv) a later submission id than the file it
    corrects even when the loads then run in parallel; publication decides by submission id.
    """
    url = url or db.warehouse_url()
    todo = []
    with db.connect(url, autocommit=True) as conn:
        for f in pending_files(url):
            reg = ledger.register(conn, f.path, submitter=f.submitter, kind=f.kind, period=f.period,
                                  landing_path=f.landing_path)
            log.info("%s: submission %s (%s)", f.landing_path, reg.submission_id, reg.status)
            if reg.status not in ledger.TERMINAL:
                todo.append({"submission_id": reg.submission_id, "landing_path": f.landing_path})
        # and anything a crash left half-way
        done = {t["submission_id"] for t in todo}
        for sid, path in conn.execute(
            "select submission_id, coalesce(landing_path, original_name) from audit.submissions "
            "where status in ('received', 'parsed', 'validated') order by 1"
        ).fetchall():
            if sid not in done:
                todo.append({"submission_id": sid, "landing_path": path})
    return todo


def process_submission(submission_id: int, url: str | None = None) -> Outcome:
    url = url or db.warehouse_url()
    with db.connect(url, autocommit=True) as conn:
        return process(conn, submission_id, url=url)


def ingest_landing_file(landing_path: str, url: str | None = None) -> Outcome:
    incoming = settings().incoming_dir
    if Path(landing_path).is_absolute() or ".." in Path(landing_path).parts:
        raise LandingPathError(f"{landing_path}: a landing path is relative to {incoming}, without '..'; refused")
    lf = parse_landing_path(incoming, incoming / landing_path)
    return ingest_file(lf.path, submitter=lf.submitter, kind=lf.kind, period=lf.period,
                       landing_path=lf.landing_path, url=url)


def resume_unfinished(url: str | None = None) -> list[Outcome]:
    """Carry on every submission a crash left half-way (received / parsed / validated)."""
    url = url or db.warehouse_url()
    with db.connect(url, autocommit=True) as conn:
        db.init_schema(conn)
        ids = [r[0] for r in conn.execute(
            "select submission_id from audit.submissions where status in ('received', 'parsed', 'validated') order by 1"
        )]
        return [process(conn, i, url=url) for i in ids]
