"""Parts of a set: the marker in a file name ("_part1of3") that says a file is one part of a submission."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

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
