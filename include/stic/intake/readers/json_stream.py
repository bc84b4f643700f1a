"""Read a JSON submission as a stream, in two passes, so that memory does not grow with the file.

Pass 1 (`scan`) reads the parser's events one by one and builds nothing: it checks the document's shape
(`[...]`, or `{"records"|"data"|"rows": [...]}`, that key first in that order), its nesting depth, duplicate
keys in any object, the size of every string, and collects the headers — the union of the records' keys in
order of appearance, capped. Pass 2 (`rows`) reads the file again and builds one record at a time. Numbers
are Decimal (never floats); the file is UTF-8, a BOM allowed.

Why not `json.loads`: 199 MB of `{}` took 5 GB as Python objects. Why not `ijson.items` for pass 1 too:
it keeps a path string per open level, so memory grows with the square of the nesting depth (20,000 `[`
took 1 GB); `basic_parse` events keep nothing, and pass 2 runs only on a file pass 1 found shallow.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from itertools import accumulate, groupby, islice
from operator import itemgetter
from pathlib import Path
from typing import Any

import ijson

from stic.intake.readers.table import MAX_COLUMNS, MAX_FIELD_CHARS, FileRejected

MAX_JSON_DEPTH = 64  # records are flat objects; a cell holding a list or object is a few levels at most
MAX_KEY_CHARS = 10_000  # a key is a column header
MAX_HEADER_CHARS = 1024 * 1024  # all headers together: as much as one CSV header line may hold
RECORD_KEYS = ("records", "data", "rows")  # of a top-level object, in this order of precedence
_SHAPE = 'expected a list of objects, or {"records": [...]} holding one'


def _backend():
    """The C parser (yajl2_c) when its extension is built, else ijson's pure-Python one (slower, same results)."""
    try:
        return ijson.get_backend("yajl2_c")
    except ImportError:
        return ijson.get_backend("python")


def _open(path: Path):
    f = path.open("rb")
    if f.read(3) != codecs.BOM_UTF8:
        f.seek(0)
    return f


# ijson's C backend passes a Python error raised while it converts a value (an integer of 9 million digits:
# ValueError) on as a SystemError caused by it.
_PARSE_ERRORS = (ijson.JSONError, UnicodeDecodeError, ValueError, SystemError)


def _parse_error(name: str, e: Exception) -> FileRejected:
    if isinstance(e, SystemError) and e.__cause__ is not None:
        e = e.__cause__
    arg = e.args[0] if e.args else e
    # yajl's message is bytes: the error, then a snippet of the document with a caret under the place
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    text = (text.strip().splitlines() or [type(e).__name__])[0][:200]
    if "UTF8" in text or "UTF-8" in text or isinstance(e, UnicodeDecodeError):
        return FileRejected("encoding", f"{name}: JSON must be UTF-8 ({text})")
    return FileRejected("unreadable", f"{name}: not valid JSON ({text})")


_DEPTH_STEP = {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1,
               "map_key": 0, "string": 0, "number": 0, "boolean": 0, "null": 0}
MAX_CELL_EVENTS = 100_000  # a cell holding a list or object of more values than this is not a table cell
_PROBLEM = object()  # a key no JSON text can hold: where a record keeps what was wrong with it


MAX_RUN_BYTES = 8 * MAX_FIELD_CHARS  # bytes of one JSON string: room for MAX_FIELD_CHARS characters, escaped


def _check_runs(path: Path, name: str) -> None:
    """Pass 0, bytes only: no string is longer than MAX_RUN_BYTES.

    The parser holds a string whole, twice (its buffer and the Python str): one 198 MB string took 434 MB.
    Escaped backslashes and quotes are masked first (same length), so every quote left opens or closes a
    string (their count's parity says which); a chunk of 1 MB cannot hide a longer string inside it.
    Trailing backslashes wait for the next chunk.
    """
    run, carry, offset, run_start, in_string = 0, b"", 0, 0, False
    with _open(path) as f:
        while True:
            chunk = f.read(1024 * 1024)
            if not chunk:
                return
            chunk = carry + chunk
            body = chunk.rstrip(b"\\")
            carry = chunk[len(body):]
            if len(carry) > MAX_RUN_BYTES:
                body, carry = chunk, b""
            body = body.replace(b"\\\\", b"__").replace(b'\\"', b"__")
            first = body.find(b'"')
            if first < 0:
                run += len(body) if in_string else 0
            else:
                if in_string and run + first > MAX_RUN_BYTES:
                    break
                in_string ^= body.count(b'"') % 2 == 1
                last = body.rfind(b'"')
                run, run_start = (len(body) - last - 1 if in_string else 0), offset + last + 1
            if run > MAX_RUN_BYTES:
                break
            offset += len(body)
    _valid_json_up_to(path, name, max(run_start, 64 * 1024))
    raise FileRejected(
        "cell_too_large",
        f"{name}: holds a string of more than {MAX_RUN_BYTES // 1_000_000} MB (a cell holds at most "
        f"{MAX_FIELD_CHARS:,} characters); this is not a table of records")


class _Prefix:
    """The first `n` bytes of a file, as a file."""

    def __init__(self, f, n: int) -> None:
        self.f, self.n = f, n

    def read(self, size: int = -1) -> bytes:
        data = self.f.read(self.n if size < 0 else min(size, self.n)) if self.n > 0 else b""
        self.n -= len(data)
        return data


def _valid_json_up_to(path: Path, name: str, n: int) -> None:
    """FileRejected('unreadable') unless the file's first n bytes begin a JSON document (so a CSV whose first
    cell starts with '[' is still read as CSV by `open_table`, not refused for its long lines)."""
    with _open(path) as f:
        try:
            for _ in _backend().basic_parse(_Prefix(f, n), use_float=False):
                pass
        except _PARSE_ERRORS as e:
            if "premature EOF" in str(e):  # (ijson raises IncompleteJSONError for every yajl error)
                return  # valid so far: the document goes on past n
            raise _parse_error(name, e) from e


def _check_nesting(path: Path, name: str, record_level: int) -> None:
    """Pass A, all in C (itertools over the parser's events): depth and size of what records nest.

    Builds nothing, so memory is flat for any document; errors of JSON syntax surface here first.
    Only the events of values nested in a record (depth > record_level) are counted by Python code.
    """
    with _open(path) as f:
        try:
            events = _backend().basic_parse(f, use_float=False)
            depths = accumulate(map(_DEPTH_STEP.__getitem__, map(itemgetter(0), events)))
            for nested, group in groupby(depths, record_level.__lt__):
                if not nested:
                    continue
                inside = list(islice(group, MAX_CELL_EVENTS + 1))
                if max(inside) > MAX_JSON_DEPTH:
                    raise FileRejected(
                        "unreadable",
                        f"{name}: not valid JSON for a table (nested more than {MAX_JSON_DEPTH} levels deep); "
                        "records are flat objects")
                if len(inside) > MAX_CELL_EVENTS:
                    raise FileRejected(
                        "cell_too_large",
                        f"{name}: a record holds a list or object of more than {MAX_CELL_EVENTS:,} values; "
                        "a cell holds one value")
        except FileRejected:
            raise
        except _PARSE_ERRORS as e:
            raise _parse_error(name, e) from e


def _records_key(path: Path, name: str) -> str:
    """Of a top-level object, the key holding the records: records, data or rows, the first present.

    Reads only the top level's events in Python (the document is known shallow by now).
    """
    found: dict[str, str] = {}  # top-level key -> the first event of its value
    with _open(path) as f:
        try:
            top = ((p, e, v) for p, e, v in _backend().parse(f, use_float=False) if not p or p in RECORD_KEYS)
            pending = None
            for p, e, v in top:
                if not p and e == "map_key":
                    if v in found:
                        raise FileRejected("bad_columns", f"{name}: the document has the key {v!r} twice; keep one")
                    found[v] = ""
                    pending = v if v in RECORD_KEYS else None
                elif p and p == pending:
                    found[p], pending = e, None
        except FileRejected:
            raise
        except _PARSE_ERRORS as e:
            raise _parse_error(name, e) from e
    key = next((k for k in RECORD_KEYS if k in found), None)
    if key is None or found[key] != "start_array":
        raise FileRejected("unreadable", f"{name}: {_SHAPE}")
    return key


def _record_type(problems: list):
    """A dict that refuses, without raising (ijson's C builder cannot pass an exception on), what no table holds.

    A duplicate key, a key past MAX_COLUMNS, an over-long key or string: the value is not stored and the
    problem is kept in the record itself under `_PROBLEM` (or in `problems` for an object nested in a cell).
    """

    class Record(dict):
        __slots__ = ()

        def __setitem__(self, k, v):
            if k in self:
                problem = ("bad_columns", f"has the key {k!r} twice; keep one")
            elif len(self) >= MAX_COLUMNS:
                problem = ("too_many_columns", f"has more than {MAX_COLUMNS:,} keys; this is not a table of records")
            elif len(k) > MAX_KEY_CHARS:
                problem = ("cell_too_large", f"has a key of {len(k):,} characters (at most {MAX_KEY_CHARS:,})")
            elif v.__class__ is str and len(v) > MAX_FIELD_CHARS:
                problem = ("cell_too_large", f"key {k!r}: a value of {len(v):,} characters "
                                             f"(at most {MAX_FIELD_CHARS:,}); this is not a table cell")
            else:
                dict.__setitem__(self, k, v)
                return
            if _PROBLEM not in self:
                dict.__setitem__(self, _PROBLEM, problem)
                problems.append(problem)

    return Record


def scan(path: Path, name: str) -> tuple[str, list[str]]:
    """Passes A and B: (ijson prefix of the records, headers), or FileRejected at the first thing wrong."""
    with _open(path) as f:
        first = f.read(64).lstrip(b" \t\r\n")[:1]
    record_level = 2 if first == b"[" else 3
    _check_runs(path, name)
    _check_nesting(path, name, record_level)
    prefix = "item" if first == b"[" else f"{_records_key(path, name)}.item"
    headers: list[str] = []
    seen: set[str] = set()
    header_chars = 0
    problems: list = []
    n = 0
    with _open(path) as f:
        try:
            for n, r in enumerate(_backend().items(f, prefix, map_type=_record_type(problems), use_float=False), 1):
                if not isinstance(r, dict):
                    raise FileRejected("unreadable", f"{name}: record {n} is not an object; {_SHAPE}")
                if _PROBLEM in r:
                    rule, what = r[_PROBLEM]
                    raise FileRejected(rule, f"{name}: record {n} {what}")
                if problems:  # an object in a cell of this record, or of one the parser has read ahead
                    nested = _nested_problem(r)
                    if nested:
                        rule, what = nested
                        raise FileRejected(rule, f"{name}: record {n}: an object in a cell {what}")
                if not seen.issuperset(r):
                    for k in r:
                        if k not in seen:
                            seen.add(k)
                            headers.append(k)
                            header_chars += len(k)
                    if len(headers) > MAX_COLUMNS or header_chars > MAX_HEADER_CHARS:
                        raise FileRejected(
                            "too_many_columns",
                            f"{name}: the records have more than {MAX_COLUMNS:,} different keys, or keys of more "
                            f"than {MAX_HEADER_CHARS:,} characters together (record {n}); this is not a table")
        except FileRejected:
            raise
        except _PARSE_ERRORS as e:
            raise _parse_error(name, e) from e
    if problems:  # not found in any record: cannot happen, but never let it pass
        rule, what = problems[0]
        raise FileRejected(rule, f"{name}: an object {what}")
    if not n:
        raise FileRejected("empty", f"{name}: the JSON holds no records")
    return prefix, headers


def _nested_problem(value: Any):
    """The problem kept in an object nested anywhere in `value` (a record's cells), or None."""
    if isinstance(value, dict):
        if _PROBLEM in value:
            return value[_PROBLEM]
        children = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return None
    for child in children:
        found = _nested_problem(child)
        if found:
            return found
    return None


def open_json(path: Path, name: str) -> tuple[list[str], Iterator[tuple[int, str | None, list[Any]]]]:
    """(headers, rows) of a JSON submission; the rows are read from the file as they are asked for."""
    prefix, headers = scan(path, name)

    def rows() -> Iterator[tuple[int, str | None, list[Any]]]:
        with _open(path) as f:
            try:
                for i, r in enumerate(_backend().items(f, prefix, use_float=False), start=1):
                    yield i, None, [r.get(h) for h in headers]
            except _PARSE_ERRORS as e:
                raise _parse_error(name, e) from e

    return headers, rows()
