"""Named crash points for the reliability tests: the process kills itself (SIGKILL) where it is told to.

STIC_FAIL_AT="pipeline.load@bad.csv" instead makes the point `pipeline.load` raise InjectedFault (an
ordinary exception, as a bug in a reader would) every time it is passed for a file whose name contains
"bad.csv" (any file without "@…"): what the tests of the submission boundary use.

STIC_CRASH_AT="load.copy:3" makes the 3rd pass through the point `load.copy` kill the process, as a
power cut would: no cleanup, no rollback by us, no atexit. Unset (always, outside tests) it costs a dict
lookup. The points are listed in POINTS; docs/reliability.md says what each one proves.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "archive.partial",        # half of a file copied into the archive's temp file
    "archive.renamed",        # archive file in place, ledger row not yet written
    "ledger.registered",      # ledger row committed, nothing loaded
    "load.copy",              # inside COPY into raw (per 1,000 rows)
    "load.before_commit",     # raw rows and rejected rows written, transaction not committed
    "load.committed",         # parsed: raw committed, validation not started
    "validate.ran",           # GX ran, results not stored
    "validate.committed",     # validated, not published
    "publish.committed",      # published, receipt not written
    "receipt.partial",        # receipt JSON written, HTML not
    "dbt.node",               # after a dbt node finished (per node)
    "build.roles",            # marts built, grants not applied
)
_counts: dict[str, int] = {}


def point(name: str) -> None:
    spec = os.environ.get("STIC_CRASH_AT")
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


class InjectedFault(RuntimeError):
    """Raised by fail() where STIC_FAIL_AT says: an internal error, not a rule the file broke."""


def fail(name: str, label: str = "") -> None:
    spec = os.environ.get("STIC_FAIL_AT")
    if not spec:
        return
    target, _, match = spec.partition("@")
    if target == name and match in label:
        raise InjectedFault(f"injected fault at {name} (STIC_FAIL_AT={spec})")
