"""The benchmark's result as a table: on the terminal, and in docs/benchmarks.md."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .data import DOCS_BEGIN, DOCS_END

# --------------------------------------------------------------------------------------- reporting


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "rows/s":
        return f"{v:,.0f} rows/s"
    if unit == "MB":
        return f"{v:,.0f} MB"
    return f"{v:,.2f} s"


def rows_of(result: dict) -> list[list[str]]:
    out = []
    for f in result["figures"]:
        ratio = "—" if f["ratio"] is None else f"{f['ratio']:.2f}"
        status = f["status"].upper() if f["status"] in ("miss", "error") else f["status"]
        out.append([f["id"], f["name"], _fmt(f["measured"], f["unit"]),
                    f"{_fmt(f['baseline'], f['unit'])} ({f['baseline_name']})", ratio, f["target"], status])
    return out


HEADERS = ["#", "figure", "measured", "baseline", "ratio", "target", "pass/miss"]


def print_table(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"stic bench — scale: {result['scale']} — {result['machine']['host']} "
                    f"({result['machine']['nproc']} cores, {result['machine']['ram_gb']} GB, "
                    f"PostgreSQL {result['machine']['postgresql']}) — {result['duration_s']:.0f}s")
    for h in HEADERS:
        t.add_column(h, overflow="fold")
    for r in rows_of(result):
        style = {"pass": "green", "MISS": "red", "ERROR": "red"}.get(r[-1], "yellow")
        t.add_row(*r[:-1], f"[{style}]{r[-1]}[/{style}]")
    Console(width=max(160, shutil.get_terminal_size().columns)).print(t)
    for f in result["figures"]:
        if f["error"]:
            print(f"  figure {f['id']}: {f['error']}")
    print(f"result: {result.get('result_file')}")


def markdown_table(result: dict) -> str:
    m = result["machine"]
    lines = [
        f"Latest run: **{result['started_at']}**, scale **{result['scale']}** "
        f"(`{json.dumps(result['parameters'], ensure_ascii=False)}`), {result['duration_s']:.0f} s, on "
        f"`{m['host']}`: {m['nproc']} cores, {m['ram_gb']} GB RAM, PostgreSQL {m['postgresql']}, "
        f"Python {m['python']}, load average at start {m['load_avg_at_start']}.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---" for _ in HEADERS) + "|",
    ]
    for r in rows_of(result):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(lines)


def write_docs(path: Path, result: dict) -> None:
    """Replace the table between the bench markers (the rest of the page is written by hand)."""
    block = f"{DOCS_BEGIN}\n{markdown_table(result)}\n{DOCS_END}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    if DOCS_BEGIN in text and DOCS_END in text:
        head, rest = text.split(DOCS_BEGIN, 1)
        _, tail = rest.split(DOCS_END, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
