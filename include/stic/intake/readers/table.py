"""What a reader gives back (`Table`), how it refuses a file (`FileRejected`), and the caps on its memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Caps that keep a hostile file's memory bounded (docs/reliability.md, tests/reliability/test_memory_bounds.py).
MAX_FIELD_CHARS = 1_000_000  # one cell: a CSV field, a JSON string (a workbook's: MAX_XML_RUN_BYTES)
MAX_LINE_BYTES = 1024 * 1024  # one physical CSV line (UTF-16: in characters); a real row is a few KB
MAX_COLUMNS = 16_384  # Excel's last column (XFD): a row wider than any spreadsheet is not a table row
MAX_JSON_BYTES = 200 * 1024 * 1024  # read as a stream (stic.intake.readers.json_stream), in time; larger submissions come as CSV
# Bytes between two '<' in a workbook's XML: one tag and the text after it, so one cell's text; room for
# MAX_FIELD_CHARS characters of Chinese (3 bytes each in UTF-8) with some escapes.
MAX_XML_RUN_BYTES = 4 * MAX_FIELD_CHARS
MAX_XLSX_UNCOMPRESSED = 1_500 * 1024 * 1024  # a zip bomb expands far past any real submission
MAX_XLSX_RATIO = 200
MAX_MERGED_RANGES = 100_000


class FileRejected(Exception):
    """The whole file cannot be accepted; `reason` is a short rule id, the message says what to do."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


@dataclass
class Table:
    path: Path
    format: str
    headers: list[Any]
    header_row: int
    rows: Iterator[tuple[int, str | None, list[Any]]]
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    # Rows recognised as layout, not data, filled while `rows` is read: {row, sheet, reason, text}.
    skipped: list[dict] = field(default_factory=list)
