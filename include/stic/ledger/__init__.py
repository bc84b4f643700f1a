"""The submission ledger (audit.submissions): the only writer of a submission's state.

Callers use the package (`from stic import ledger; ledger.register(...)`); the modules split it by concern:
status (the Status enum, the allowed moves, `transition`), submissions (register, find), archive (the bytes),
parts (part markers in file names), publication (publish, supersede, corrections), declarations (nil).
"""

from stic.ledger.archive import archive, archive_path_for, sha256_file
from stic.ledger.parts import PartMarker, part_marker
from stic.ledger.publication import correction_diff, publish
from stic.ledger.status import (
    ERROR_EVENT,
    PUBLICATION_LOCK,
    TERMINAL,
    TRANSITIONS,
    UNFINISHED,
    Status,
    TransitionError,
    error_count,
    lock_row,
    note,
    record_error,
    transition,
)
from stic.ledger.submissions import (
    Registration,
    add_generated_rows,
    get,
    key_lock,
    landing_seen,
    published_before,
    published_parts,
    register,
    submitter_lock,
    unfinished,
)

__all__ = [
    "ERROR_EVENT", "PUBLICATION_LOCK", "TERMINAL", "TRANSITIONS", "UNFINISHED", "PartMarker", "Registration",
    "Status", "TransitionError", "add_generated_rows", "archive", "archive_path_for", "correction_diff", "error_count", "get", "key_lock",
    "landing_seen", "lock_row", "note", "part_marker", "publish", "published_before", "published_parts",
    "record_error", "register", "sha256_file", "submitter_lock", "transition", "unfinished",
]
