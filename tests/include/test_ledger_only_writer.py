"""The ledger (include/stic/ledger/) is the only writer of a submission's state.

No Python in include/ or dags/ outside include/stic/ledger/ may write or lock audit.submissions or
audit.submission_events: no `insert into`, `update`, `delete from`, `copy … from`, `truncate`, and no
`select … for update` (or `for share`) of them. A step that must change a submission asks the ledger:
`ledger.transition(conn, id, from_, to, reason)` for a status, `ledger.register` / `ledger.publish` /
`ledger.note` / `ledger.record_error` for the rest.

Reading the audit trail is allowed: reports, receipts, exports and the pipeline's own queries may select
from these tables (without locking). The scan reads the SQL in string literals (implicitly joined pieces,
f-strings with their placeholders as `{}`, and `+` of strings), docstrings aside; SQL built with
psycopg.sql.Identifier("audit", "submissions") is beyond it, and is not written so anywhere.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("include", "dags")
LEDGER = Path("include/stic/ledger")

_TABLE = r"audit\s*\.\s*submission(?:s|_events)\b"
_WRITE = re.compile(rf"\b(?:insert\s+into|update|delete\s+from|copy|truncate(?:\s+table)?)\s+(?:only\s+)?{_TABLE}", re.I)
_LOCK = re.compile(rf"{_TABLE}.*\bfor\s+(?:no\s+key\s+update|update|key\s+share|share)\b", re.I | re.S)


def _text(node: ast.AST) -> str | None:
    """The text of a string expression, non-literal parts as `{}`; None if it is not one."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        if left is not None or right is not None:
            return (left if left is not None else "{}") + (right if right is not None else "{}")
    return None


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def ledger_writes(path: Path) -> list[tuple[int, str]]:
    """(line, SQL) of every string in the file that writes or locks the ledger's tables."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _docstrings(tree)
    found: dict[int, str] = {}
    inner: set[int] = set()  # pieces of a `+` already read as part of the whole
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in inner:
            continue
        text = _text(node)
        if text is None:
            continue
        if isinstance(node, ast.BinOp):
            inner.update(id(n) for n in ast.walk(node) if n is not node)
        sql = " ".join(text.split())
        if _WRITE.search(sql) or _LOCK.search(sql):
            found.setdefault(node.lineno, sql)
    return sorted(found.items())


def violations(root: Path, files: Iterable[Path] | None = None) -> list[str]:
    """'file:line: SQL' for every write or lock of the ledger's tables outside include/stic/ledger/."""
    if files is None:
        files = sorted(p for d in SCANNED if (root / d).is_dir() for p in (root / d).rglob("*.py"))
    out = []
    for path in files:
        rel = path.relative_to(root)
        if rel.is_relative_to(LEDGER):
            continue
        out += [f"{rel}:{line}: {sql[:160]}" for line, sql in ledger_writes(path)]
    return out


def test_only_the_ledger_writes_or_locks_submissions():
    found = violations(ROOT)
    assert not found, (
        "SQL outside include/stic/ledger/ writes or locks audit.submissions / audit.submission_events; "
        "ask the ledger instead (ledger.transition, register, publish, note, record_error):\n  " + "\n  ".join(found))


def test_the_scan_catches_a_planted_write(tmp_path):
    bad = tmp_path / "include" / "stic" / "sneaky.py"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        '"""Sets statuses by hand (update audit.submissions in a docstring is only prose)."""\n'
        "\n"
        "def reject(conn, sid):\n"
        "    conn.execute(\"update audit.submissions set status = 'rejected' where submission_id = %s\", (sid,))\n"
        "\n"
        "\n"
        "def lock(conn, sid):\n"
        "    return conn.execute(\n"
        '        "select status from audit.submissions "\n'
        '        "where submission_id = %s for update", (sid,))\n'
        "\n"
        "\n"
        "def event(conn, sid, table='audit.submission_events'):\n"
        '    conn.execute(f"insert into audit.submission_events (submission_id) values ({sid})")\n'
        '    conn.execute("delete from " + "audit.submission_events where submission_id = %s", (sid,))\n'
        "\n"
        "\n"
        "def report(conn):\n"
        '    return conn.execute("select status, count(*) from audit.submissions group by 1").fetchall()\n',
        encoding="utf-8",
    )
    allowed = tmp_path / "include" / "stic" / "ledger" / "status.py"
    allowed.parent.mkdir(parents=True)
    allowed.write_text('SQL = "update audit.submissions set status = %s"\n', encoding="utf-8")
    dag = tmp_path / "dags" / "fine.py"
    dag.parent.mkdir()
    dag.write_text('SQL = "select * from audit.submission_events order by 1"\n', encoding="utf-8")

    found = violations(tmp_path)
    lines = [f.split(": ", 1)[0] for f in found]
    assert lines == ["include/stic/sneaky.py:4", "include/stic/sneaky.py:9", "include/stic/sneaky.py:14",
                     "include/stic/sneaky.py:15"], found
    assert "for update" in found[1] and "delete from audit.submission_events" in found[3]
