"""Delimited text (CSV, TSV, ';' or '|', UTF-16 text): strict decoding, one capped line at a time, the delimiter
chosen by the header it yields."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stic.contract.kinds import Kind
from stic.intake.header_map import map_headers, score_header
from stic.intake.readers.encoding import _is_utf8_cjk, detect_encoding
from stic.intake.readers.layout import (
    HEADER_SCAN_CELLS,
    HEADER_SCAN_ROWS,
    _apply_title_unit,
    _pick_header,
    _skip_layout_rows,
    _title_unit,
)
from stic.intake.readers.table import MAX_COLUMNS, MAX_FIELD_CHARS, MAX_LINE_BYTES, FileRejected, Table

DELIMITERS = (",", "\t", ";", "|")


def _capped_lines(readline, name: str, limit: str) -> Iterator[tuple[int, Any]]:
    """(line number, line) for each physical line `readline` gives, at most MAX_LINE_BYTES bytes (or characters,
    for a decoded UTF-16 file) each: a longer line rejects the file and is never read whole.

    `limit` is the cap in words for the message (KB, or characters).
    """
    n = 0
    while True:
        line = readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        n += 1
        if len(line) > MAX_LINE_BYTES:
            raise FileRejected(
                "line_too_long",
                f"{name}: line {n} is longer than {limit}; this is not a table of rows "
                "(check the line endings, or that this is the right file)",
            )
        yield n, line


def _lines(raw, encoding: str, name: str) -> Iterator[str]:
    """Decoded physical lines, strictly; a line too long or in another encoding rejects the file."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    check_utf8 = encoding == "gb18030"
    # UTF-8 lines split at b"\n" hold whole characters: bytes.decode is the incremental decoder's result,
    # without its Python-level wrapper (profiled: a third of the reading); a line it refuses (maybe a
    # character cut by the end of the file) goes to the incremental decoder, which says which it is.
    whole = encoding == "utf-8"
    for n, line in _capped_lines(raw.readline, name, f"{MAX_LINE_BYTES // 1024} KB"):
        if whole:
            try:
                yield line.decode("utf-8")
                continue
            except UnicodeDecodeError:
                whole = False
        if check_utf8 and _is_utf8_cjk(line):
            raise FileRejected(
                "encoding",
                f"{name}: line {n} is UTF-8 but the file is GBK/GB18030 (the file mixes encodings); "
                "save the whole file in one encoding ('CSV UTF-8') and send it again",
            )
        try:
            yield decoder.decode(line)
        except UnicodeDecodeError:
            raise FileRejected(
                "encoding",
                f"{name}: line {n} is not valid {encoding} (the file mixes encodings); "
                "save the whole file in one encoding ('CSV UTF-8') and send it again",
            ) from None
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise FileRejected("encoding", f"{name}: the file ends inside a {encoding} character (truncated?)") from None
    if tail:
        yield tail


def _utf16_lines(raw, name: str) -> Iterator[str]:
    """Decoded lines of a UTF-16 file (BOM first), at most MAX_LINE_BYTES characters each, never one whole.

    A TextIOWrapper's own line iteration reads a line however long it is: one 400 MB line was 400 MB.
    """
    text = io.TextIOWrapper(raw, encoding="utf-16", errors="strict", newline="")
    for _n, line in _capped_lines(text.readline, name, f"{MAX_LINE_BYTES:,} characters"):
        yield line


def _pick_delimiter(kind: Kind, sample: str) -> str:
    """The delimiter under which the first lines hold the best header of the kind (ties: comma)."""
    best, best_score = ",", -1
    for d in DELIMITERS:
        if d not in sample:
            continue
        score = 0
        try:
            for i, cells in enumerate(csv.reader(io.StringIO(sample), delimiter=d)):
                score = max(score, score_header(kind, cells[:HEADER_SCAN_CELLS]))
                if i >= HEADER_SCAN_ROWS:
                    break
        except csv.Error:
            pass
        if score > best_score:
            best, best_score = d, score
    return best


def _open_csv(path: Path, kind: Kind, head: bytes, complete: bool) -> Table:
    encoding = detect_encoding(head, complete, path.name)
    csv.field_size_limit(MAX_FIELD_CHARS)
    cut = head.rfind(b"\n") if not complete else len(head)
    sample_bytes = head[: cut if cut > 0 else len(head)][:64 * 1024]
    if encoding == "utf-16":
        sample = head[:64 * 1024].decode("utf-16", errors="ignore")
    else:
        sample = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample_bytes)
    delimiter = _pick_delimiter(kind, sample)
    raw = path.open("rb")
    source = _utf16_lines(raw, path.name) if encoding == "utf-16" else _lines(raw, encoding, path.name)
    reader = csv.reader(source, delimiter=delimiter)

    def numbered() -> Iterator[tuple[int, list[str]]]:
        try:
            for cells in reader:
                if len(cells) > MAX_COLUMNS:
                    raise FileRejected(
                        "too_many_columns",
                        f"{path.name}: line {reader.line_num} has {len(cells):,} columns (at most {MAX_COLUMNS:,}, "
                        "as in Excel); this is not a table of rows — check the delimiter, or that this is the right file",
                    )
                yield reader.line_num, cells
        except UnicodeDecodeError as e:
            raise FileRejected(
                "encoding",
                f"{path.name}: near line {reader.line_num + 1}, bytes are not valid {encoding} "
                f"(the file mixes encodings); save the whole file in one encoding",
            ) from e
        except csv.Error as e:
            raise FileRejected("unreadable", f"{path.name}: line {reader.line_num}: {e}") from e

    it = numbered()
    first: list[tuple[int, list[Any]]] = []
    try:
        for n, cells in it:
            if any(c.strip() for c in cells):
                first.append((n, cells))
            if len(first) >= HEADER_SCAN_ROWS:
                break
        if not first:
            raise FileRejected("empty", f"{path.name}: the file has no rows")
        h, h_end, headers = _pick_header(kind, first, path.name)
    except BaseException:
        raw.close()
        raise
    header_row = first[h_end][0]
    notes: list[str] = []
    if delimiter != ",":
        notes.append(f"columns are separated by {delimiter!r}")
    if h_end > h:
        notes.append(f"a header of {h_end - h + 1} rows (lines {first[h][0]}–{header_row}) was read as one, parent-child")
    headers = _apply_title_unit(kind, headers, _title_unit(first, h), notes)

    def rows() -> Iterator[tuple[int, str | None, list[Any]]]:
        try:
            for n, cells in first[h_end + 1 :]:
                yield n, None, cells
            for n, cells in it:
                if "".join(cells).strip():  # a cell with more than spaces (any(c.strip() ...), in C)
                    yield n, None, cells
        finally:
            raw.close()

    table = Table(path, "csv", headers, header_row, rows(), encoding=encoding, notes=notes)
    table.rows = _skip_layout_rows(table.rows, map_headers(kind, headers).positions.get(kind.key), table.skipped)
    return table
