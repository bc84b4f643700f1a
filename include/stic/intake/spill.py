"""A list that stays small in memory: the first items are kept, the rest go to a temporary file.

A file of a million bad rows is a million quarantine records; the loader must not hold them all in
memory (peak RSS flat in file size), yet every one of them reaches audit.rejected_rows.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import Any

KEEP_IN_MEMORY = 10_000
# One encoder for every item: json.dumps with options builds a new JSONEncoder per call (profiled: most of
# the cost of spilling a bench file's 15,000 warnings).
_encode = json.JSONEncoder(ensure_ascii=False, default=str).encode


class SpillList:
    """Append-and-iterate list of JSON-able dicts; past `keep` items they are written as JSON lines to disk."""

    def __init__(self, keep: int | None = None) -> None:
        self.keep = KEEP_IN_MEMORY if keep is None else keep
        self._head: list[dict[str, Any]] = []
        self._file = None
        self._spilled = 0

    def append(self, item: dict[str, Any]) -> None:
        if len(self._head) < self.keep:
            self._head.append(item)
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(mode="w+", encoding="utf-8", prefix="stic-spill-")
        self._file.write(_encode(item) + "\n")
        self._spilled += 1

    def extend(self, items: list[dict[str, Any]]) -> None:
        """append() of each item, with one write for those that go to disk."""
        room = self.keep - len(self._head)
        if room > 0:
            self._head.extend(items[:room])
            items = items[room:]
        if not items:
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(mode="w+", encoding="utf-8", prefix="stic-spill-")
        self._file.write("\n".join(map(_encode, items)) + "\n")
        self._spilled += len(items)

    @property
    def spilled(self) -> int:
        """How many items are on disk rather than in memory."""
        return self._spilled

    def __len__(self) -> int:
        return len(self._head) + self._spilled

    def __bool__(self) -> bool:
        return bool(self._head)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        yield from self._head
        if self._file is not None:
            self._file.flush()
            self._file.seek(0)
            for line in self._file:
                yield json.loads(line)
            self._file.seek(0, 2)  # appends go on at the end

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        """A slice of the in-memory head (for messages: `problems[:3]`)."""
        return self._head[index]

    def __repr__(self) -> str:
        return f"SpillList({len(self)} items, {self._spilled} on disk)"

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __del__(self) -> None:
        self.close()
