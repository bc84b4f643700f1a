"""One submission's way through the warehouse: register -> load -> validate -> publish, resumable at any step."""

from __future__ import annotations

import logging
import os
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg

from stic import faults, ledger
from stic.config import settings
from stic.ledger import Status, declarations
from stic.load import LoadOutcome, ParseOutcome, load_rows
from stic.quality import gx
from stic.warehouse import db

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
    error: str | None = None  # an internal error of this attempt (the submission stays resumable)
    attempts_failed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def unfinished(self) -> bool:
        return self.status not in ledger.TERMINAL


# Errors of the connection or the server (a restart, a network cut): not the file's fault, so they are not
# counted against it; the caller (the DAG's retry, the next scan) runs the submission again.
_NOT_THE_FILES_FAULT = (psycopg.OperationalError, psycopg.InterfaceError)


def process(conn, submission_id: int, url: str | None = None) -> Outcome:
    """Run whatever steps are left for this submission. Every step is its own transaction, so a crash at
    any point leaves a status from which the next call carries on.

    An exception of one submission stops there: it is recorded as an `error` event and the submission
    stays where it was, to be tried again; after settings().max_attempts such errors it is rejected with
    a receipt ("internal error while reading: …"), so a file that trips a bug can never block the queue.
    """
    sub = ledger.get(conn, submission_id)
    with ledger.submitter_lock(conn, sub["submitter_code"]):
        try:
            return _process(conn, submission_id, url)
        except _NOT_THE_FILES_FAULT:
            raise
        except Exception as e:
            return _failed(conn, submission_id, e)


def _failed(conn, submission_id: int, exc: Exception) -> Outcome:
    text = f"{type(exc).__name__}: {exc}"[:2000]
    log.error("submission %s: internal error: %s", submission_id, text, exc_info=exc)
    limit = settings().max_attempts
    with conn.transaction():
        attempts = ledger.record_error(conn, submission_id, text)
        status = ledger.get(conn, submission_id)["status"]
        if status not in ledger.TERMINAL and attempts >= limit:
            ledger.transition(
                conn, submission_id, ledger.UNFINISHED, Status.REJECTED,
                f"internal error while reading: {text} (failed {attempts} times; the file is kept in the archive "
                f"and the data team has been told — send it again as CSV or XLSX if it is urgent)")
    if status not in ledger.TERMINAL and attempts >= limit:
        _write_receipt(conn, submission_id)
    out = outcome(conn, submission_id, is_new=True)
    out.error, out.attempts_failed = text, attempts
    return out


def _process(conn, submission_id: int, url: str | None) -> Outcome:
    sub = ledger.get(conn, submission_id)
    if sub["status"] == Status.RECEIVED and declarations.is_nil_file_name(sub["original_name"]):
        declarations.accept(conn, submission_id)  # "nothing to report": zero rows, nothing to load
        sub = ledger.get(conn, submission_id)
    if sub["status"] == Status.RECEIVED:
        faults.fail("pipeline.load", sub["original_name"])
        load_step(conn, submission_id)
        sub = ledger.get(conn, submission_id)
    if sub["status"] == Status.PARSED:
        validate_step(conn, submission_id, url=url)
        sub = ledger.get(conn, submission_id)
    if sub["status"] == Status.VALIDATED:
        # A crash may have cut off the receipt of the submission this one corrects: write it while it is
        # still the published one, so its history reads published -> superseded as in an uninterrupted run.
        for earlier in ledger.published_before(conn, sub):
            _write_receipt(conn, earlier)
        ledger.publish(conn, submission_id)
        faults.point("publish.committed")
        sub = ledger.get(conn, submission_id)
        if sub["part_set"] and sub["status"] == Status.PUBLISHED:
            # The last part to arrive publishes its whole set: every part gets its receipt now.
            for other in ledger.published_parts(conn, sub):
                _write_receipt(conn, other)
    _write_receipt(conn, submission_id)
    return outcome(conn, submission_id, is_new=True)


def load_step(conn, submission_id: int, progress: Callable[[int], None] | None = None) -> ParseOutcome:
    """received -> parsed (rows in raw, bad rows in audit.rejected_rows) or -> rejected: the rows and the
    ledger's move in one transaction, all or nothing; the row lock keeps a second worker from loading it too."""
    with conn.transaction():
        sub = ledger.lock_row(conn, submission_id)
        if sub["status"] != Status.RECEIVED:
            log.info("submission %s is %s; nothing to load", submission_id, sub["status"])
            return LoadOutcome()
        out = load_rows(conn, sub, progress)
        ledger.transition(conn, submission_id, Status.RECEIVED, out.status, out.reason, **out.ledger_fields())
        faults.point("load.before_commit")
    faults.point("load.committed")
    return out


def validate_step(conn, submission_id: int, url: str | None = None) -> gx.SuiteRun | None:
    """parsed -> validated, or -> rejected when a critical expectation fails on the submission's batch.

    The suite runs outside a transaction (it reads through its own connection); its results and the move are
    then written together, unless another worker got there first."""
    sub = ledger.get(conn, submission_id)
    if sub["status"] != Status.PARSED:
        return None
    run = gx.validate_batch(sub, url=url)
    faults.point("validate.ran")
    with conn.transaction():
        if ledger.lock_row(conn, submission_id)["status"] != Status.PARSED:  # another worker got here first
            return run
        gx.store_run(conn, run, "load", submission_id=submission_id, load_id=sub["load_id"],
                     rows_checked=sub["rows_loaded"])
        to, reason = gx.verdict(run)
        ledger.transition(conn, submission_id, Status.PARSED, to, reason, validation_success=run.success)
    faults.point("validate.committed")
    return run


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


def settle_registration(conn, reg: ledger.Registration) -> bool:
    """What every channel does right after registering: a new registration that ended at once (rejected at
    the door by a submission rule, a duplicate) gets its receipt. Returns whether work is left."""
    if reg.status not in ledger.TERMINAL:
        return True
    if reg.is_new:
        _write_receipt(conn, reg.submission_id)
    return False


def register_and_process(conn, path: Path, *, submitter: str, kind: str, period: str, channel: str = "file",
                         landing_path: str | None = None, original_name: str | None = None, url: str | None = None,
                         on_registered: Callable[[ledger.Registration], None] | None = None) -> Outcome:
    """Register a file of any channel (a landing file, an agency pull, a declaration) and take it as far as it
    goes; `on_registered` runs between the two (the agency pull moves its watermark there). Safe to call
    again with the same file."""
    reg = ledger.register(conn, path, submitter=submitter, kind=kind, period=period, channel=channel,
                          landing_path=landing_path, original_name=original_name)
    if on_registered is not None:
        on_registered(reg)
    if not settle_registration(conn, reg):
        return outcome(conn, reg.submission_id, is_new=reg.is_new)
    out = process(conn, reg.submission_id, url=url)
    out.is_new = reg.is_new
    return out


def ingest_file(path: Path, *, submitter: str, kind: str, period: str, landing_path: str | None = None,
                original_name: str | None = None, url: str | None = None) -> Outcome:
    """Register a file and take it as far as it goes. Safe to call again with the same file."""
    url = url or db.warehouse_url()
    with db.connect(url, autocommit=True) as conn:
        db.init_schema(conn)
        return register_and_process(conn, path, submitter=submitter, kind=kind, period=period,
                                    landing_path=landing_path, original_name=original_name, url=url)


@dataclass
class LandingFile:
    path: Path
    landing_path: str  # relative to landing/incoming: SUBMITTER/kind/period/file, as safe_text
    submitter: str
    kind: str
    period: str


class LandingPathError(ValueError):
    pass


def safe_text(name: str | os.PathLike) -> str:
    """A file name as text that PostgreSQL can store and a terminal can show, the same every time.

    Names come from the file system as bytes: a name that is not UTF-8 (GBK from an older Windows client)
    keeps each non-ASCII byte as \\xNN; control and bidi-format characters (a newline, an escape, a
    right-to-left override in a name) are written as \\xNN / \\uNNNN, so no name can forge log lines.
    """
    raw = os.fsencode(os.fspath(name))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # Every byte past ASCII escaped, not only the undecodable ones: GBK bytes that happen to form valid
        # UTF-8 (c4 bf is "Ŀ") would otherwise show as garbled letters between the escapes.
        text = raw.decode("ascii", "backslashreplace")
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def parse_landing_path(incoming: Path, path: Path) -> LandingFile:
    """The submitter, kind and period a landing file's place says; LandingPathError for a path that is not
    a file of the landing area (absolute, '..', a symlink out): nothing outside it is ever read."""
    incoming = Path(incoming)
    path = Path(path)
    shown = safe_text(path)
    if ".." in path.parts or (path.is_absolute() and not path.is_relative_to(incoming)):
        raise LandingPathError(f"{shown}: not inside the landing area {incoming}; refused")
    try:
        if not path.resolve().is_relative_to(incoming.resolve()):
            raise LandingPathError(f"{shown}: resolves outside the landing area {incoming} (a symlink?); refused")
        rel = path.relative_to(incoming)
    except ValueError as e:
        raise LandingPathError(f"{shown}: not inside the landing area {incoming}; refused") from e
    parts = rel.parts
    if len(parts) != 4:
        raise LandingPathError(
            f"{safe_text(rel)}: files belong in landing/incoming/<SUBMITTER>/<kind>/<period>/<file>, e.g. PD/projects/2018/projects.csv"
        )
    submitter, kind, period, _ = (safe_text(p) for p in parts)
    return LandingFile(path, safe_text(rel.as_posix()), submitter.upper(), kind, period.upper())


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
            try:
                if p.is_symlink() or not p.is_file():
                    misplaced.append(f"{safe_text(p.relative_to(incoming))}: not a regular file; ignored")
                    continue
                found.append(parse_landing_path(incoming, p))
            except LandingPathError as e:
                misplaced.append(str(e))
            except (OSError, ValueError) as e:  # gone meanwhile, a name the OS refuses to stat
                misplaced.append(f"{safe_text(p.relative_to(incoming))}: cannot be read ({safe_text(str(e))}); ignored")
    return found, misplaced


@dataclass
class LandingScan:
    pending: list[LandingFile] = field(default_factory=list)
    # Paths (as safe_text) left out of this pass, each with why: misplaced, unreadable, still being written.
    skipped: list[str] = field(default_factory=list)


def scan_pending(url: str | None = None, incoming: Path | None = None) -> LandingScan:
    """Landing files not yet in the ledger (by landing path and content), each looked at on its own: a file
    that cannot be read, or was modified less than settings().landing_settle_seconds ago, is skipped."""
    files, misplaced = scan_landing(incoming)
    scan = LandingScan(skipped=list(misplaced))
    for m in misplaced:
        log.warning("landing area: %s", m)
    if not files:
        return scan
    with db.connect(url, autocommit=True) as conn:
        db.init_schema(conn)
        seen = ledger.landing_seen(conn)
        seen_paths = {p for p, _ in seen}
    settle = settings().landing_settle_seconds
    now = time.time()
    for f in files:
        try:
            age = now - f.path.stat().st_mtime
            if age < settle:
                why = (f"{f.landing_path}: modified {max(age, 0):.0f}s ago, may still be being written; "
                       f"left for the next scan (STIC_LANDING_SETTLE_SECONDS={settle:g})")
                log.info("landing area: %s", why)
                scan.skipped.append(why)
                continue
            if f.landing_path in seen_paths:
                sha, _ = ledger.sha256_file(f.path)
                if (f.landing_path, sha) in seen:
                    continue
        except OSError as e:
            why = f"{f.landing_path}: cannot be read ({safe_text(str(e))}); left for the next scan"
            log.warning("landing area: %s", why)
            scan.skipped.append(why)
            continue
        scan.pending.append(f)
    return scan


def pending_files(url: str | None = None, incoming: Path | None = None) -> list[LandingFile]:
    """Landing files not yet in the ledger (by landing path and content)."""
    return scan_pending(url, incoming).pending


def register_landing_files(url: str | None = None, skipped: list[str] | None = None) -> list[dict]:
    """Register every new landing file, in path order, and return those with work left.

    Registering in one sorted pass gives a correction (…_v2.csv) a later submission id than the file it
    corrects even when the loads then run in parallel; publication decides by submission id. Each file on
    its own: one that cannot be registered (unreadable, changed while it was archived) is logged, listed in
    `skipped` and left for the next scan; the others go on.
    """
    url = url or db.warehouse_url()
    skipped = skipped if skipped is not None else []
    todo = []
    scan = scan_pending(url)
    skipped.extend(scan.skipped)
    with db.connect(url, autocommit=True) as conn:
        for f in scan.pending:
            try:
                reg = ledger.register(conn, f.path, submitter=f.submitter, kind=f.kind, period=f.period,
                                      landing_path=f.landing_path, original_name=safe_text(f.path.name))
            except _NOT_THE_FILES_FAULT:
                raise
            except Exception as e:
                why = f"{f.landing_path}: not registered ({safe_text(f'{type(e).__name__}: {e}')}); left for the next scan"
                log.warning("landing area: %s", why)
                skipped.append(why)
                continue
            log.info("%s: submission %s (%s)", f.landing_path, reg.submission_id, reg.status)
            if settle_registration(conn, reg):  # else rejected at the door (a submission rule): receipted
                todo.append({"submission_id": reg.submission_id, "landing_path": f.landing_path})
        # and anything a crash (or an internal error) left half-way
        done = {t["submission_id"] for t in todo}
        for sid, path in ledger.unfinished(conn):
            if sid not in done:
                todo.append({"submission_id": sid, "landing_path": path})
    # In submission-id order: a file a crash left half-way is older than the ones registered in this pass, and
    # processing the older first gives the history a clean run has (published, then superseded by the _v2).
    todo.sort(key=lambda t: t["submission_id"])
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


@dataclass
class LandingRun:
    outcomes: list[Outcome]
    skipped: list[str]

    @property
    def unfinished(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.unfinished]


def ingest_landing(url: str | None = None) -> LandingRun:
    """What the DAG does, in one process: register the new landing files, then take every submission with
    work left (new ones and those a crash or an error left half-way) as far as it goes, one at a time."""
    url = url or db.warehouse_url()
    skipped: list[str] = []
    todo = register_landing_files(url, skipped)
    outs = [process_submission(t["submission_id"], url) for t in todo]
    # A part waits as `validated` until a later one in this pass completes its set: report where each ended.
    with db.connect(url, autocommit=True) as conn:
        for i, o in enumerate(outs):
            if o.unfinished and not o.error:
                outs[i] = outcome(conn, o.submission_id, is_new=o.is_new)
    return LandingRun(outs, skipped)


def resume_unfinished(url: str | None = None) -> list[Outcome]:
    """Carry on every submission a crash left half-way (received / parsed / validated)."""
    url = url or db.warehouse_url()
    with db.connect(url, autocommit=True) as conn:
        db.init_schema(conn)
        return [process(conn, sid, url=url) for sid, _ in ledger.unfinished(conn)]
