"""Delimited text (CSV, TSV, ';' or '|', UTF-16 text): strict decoding, one capped line at a time, the delimiter
chosen by the header it yields."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from itertools import chain
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


BLOCK_BYTES = 256 * 1024
_OTHER_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")  # str.splitlines breaks there


def _lines(raw, encoding: str, name: str) -> Iterator[str]:
    """Decoded physical lines, strictly; a line too long or in another encoding rejects the file."""
    if encoding == "utf-8":
        return chain.from_iterable(_utf8_blocks(raw, name))
    return _decoded_lines(_capped_lines(raw.readline, name, f"{MAX_LINE_BYTES // 1024} KB"), encoding, name)


def _utf8_blocks(raw, name: str) -> Iterator[list[str]]:
    """The lines of a UTF-8 file as _decoded_lines gives them, a list per block of the file: one decode and
    one split per block instead of a readline, a decode and a generator step per line (profiled: half of
    reading a CSV). A block holding a line too long or bytes that are not UTF-8 goes line by line through
    _decoded_lines, which rejects the file at the very line, after yielding the lines before it."""
    n, carry = 0, b""
    while True:
        block = raw.read(BLOCK_BYTES)
        if block:
            cut = block.rfind(b"\n") + 1  # the lines of the block that end in it
            if cut:
                complete, carry = carry + block[:cut], block[cut:]
            else:  # no line ends in the block
                complete, carry = b"", carry + block
        else:
            complete, carry = carry, b""  # the last line, without a line break
        if complete:
            lines = None
            if len(complete) <= MAX_LINE_BYTES and complete.endswith(b"\n"):
                try:
                    text = complete.decode("utf-8")
                except UnicodeDecodeError:
                    text = None
                if text is None:
                    pass
                elif text.count("\r") == text.count("\r\n") and not any(c in text for c in _OTHER_BREAKS):
                    lines = text.splitlines(keepends=True)
                else:
                    lines = [t + "\n" for t in text.split("\n")[:-1]]
            if lines is not None:
                n += len(lines)
                yield lines
            else:  # line by line: the exact line that is too long or not UTF-8
                parts = complete.split(b"\n")
                last = parts.pop()  # b"" after a final line break
                raw_lines = [p + b"\n" for p in parts] + ([last] if last else [])
                numbered = zip(range(n + 1, n + 1 + len(raw_lines)), raw_lines, strict=True)
                for line in _decoded_lines(_checked(numbered, name), "utf-8", name, final=not block):
                    n += 1
                    yield [line]
        if not block:
            return
        if len(carry) > MAX_LINE_BYTES:
            next(_checked(iter([(n + 1, carry)]), name))  # raises line_too_long


def _checked(numbered: Iterator[tuple[int, bytes]], name: str) -> Iterator[tuple[int, bytes]]:
    """_capped_lines' length rule on lines already numbered."""
    for n, line in numbered:
        if len(line) > MAX_LINE_BYTES:
            raise FileRejected(
                "line_too_long",
                f"{name}: line {n} is longer than {MAX_LINE_BYTES // 1024} KB; this is not a table of rows "
                "(check the line endings, or that this is the right file)",
            )
        yield n, line


def _decoded_lines(numbered: Iterator[tuple[int, bytes]], encoding: str, name: str, final: bool = True) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    check_utf8 = encoding == "gb18030"
    for n, line in numbered:
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
    if not final:
        return
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


class Records:
    """csv.reader's records of decoded lines, with the number of the last line each one read (`line_num`).

    A line without the quote character is split at the delimiter directly: csv.reader gives the very same
    cells for it (an unquoted field ends only at the delimiter or the line's end), ~5x faster (profiled: the
    csv module was a fifth of a load's Python time). A line with a quote, a carriage return inside or a
    field maybe over the field size limit goes to csv.reader, which may read the next lines for a quoted
    field and raises its own errors. tests/include/test_readers.py compares both on random lines."""

    def __init__(self, lines: Iterator[str], delimiter: str):
        self._lines, self._delimiter = lines, delimiter
        self._pending: list[str] = []
        self._reader = csv.reader(self._feed(), delimiter=delimiter)
        self._split = 0  # lines split here; the reader counts its own
        self._limit = csv.field_size_limit()

    def _feed(self) -> Iterator[str]:
        while True:
            if self._pending:
                yield self._pending.pop()
            else:
                line = next(self._lines, None)
                if line is None:
                    return
                yield line

    @property
    def line_num(self) -> int:
        return self._split + self._reader.line_num

    def __iter__(self) -> Iterator[list[str]]:
        delimiter, limit, reader = self._delimiter, self._limit, self._reader
        for line in self._lines:
            if line.endswith("\n"):
                body = line[:-2] if line.endswith("\r\n") else line[:-1]
            else:
                body = line[:-1] if line.endswith("\r") else line
            if '"' in body or "\r" in body or len(body) > limit:
                self._pending.append(line)
                yield next(reader)
                continue
            self._split += 1
            yield body.split(delimiter) if body else []


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
    reader = Records(source, delimiter)

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
