"""`stic bench` and `python -m stic.dev.bench` (whose `_worker` is figure 2's ingest in a process of its own)."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from stic.config import settings, switch_off_telemetry

from .data import Scale
from .measure_load import _worker
from .report import print_table
from .runner import run_bench

# --------------------------------------------------------------------------------------------- CLI


def cmd_bench(args) -> int:
    root = settings().root
    # A terminated run still drops its database (the `finally` blocks run on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sc = Scale.of(quick=args.quick, scale=args.scale, rows=args.rows)
    docs = None if args.docs in ("", "-") else Path(args.docs or root / "docs" / "benchmarks.md")
    skip = tuple(s.strip() for s in (args.skip or "").split(",") if s.strip())
    result = run_bench(sc, Path(args.out or root / "bench" / "results"), Path(args.data or root / "bench" / "data"),
                       docs=docs, skip=skip)
    print_table(result)
    return 0 if all(f["status"] in ("pass", "miss", "skipped") for f in result["figures"]) else 1


def add_cli(subparsers) -> None:
    b = subparsers.add_parser(
        "bench", help="measure the pipeline against the machine's own limits (ratios against same-run baselines)",
        description="Generate data at a scale, measure the figures of the performance issue, print them with "
                    "their targets, write bench/results/<date>-<host>.json (-2, -3 for a later run the same day) and the table in docs/benchmarks.md.",
    )
    b.add_argument("--scale", type=float, default=None,
                   help="multiply the full scale (1M-row ingest, 1 GB CSV, 10M-row warehouse) by F")
    b.add_argument("--rows", type=int, default=None, help="rows of the ingest/validation batch (figures 1 and 4)")
    b.add_argument("--quick", action="store_true", help="a tenth of full scale (100k rows, 100 MB CSV, 1M warehouse)")
    b.add_argument("--out", default=None, help="folder of the JSON result (default bench/results)")
    b.add_argument("--data", default=None, help="scratch folder for generated data (default bench/data)")
    b.add_argument("--docs", default=None, help="markdown page whose table is replaced (default docs/benchmarks.md; "
                                                "'-' for none)")
    b.add_argument("--skip", default=None, help="figures not to measure, e.g. 2,5")
    b.set_defaults(func=cmd_bench)


def _main(argv: list[str]) -> int:
    """`python -m stic.dev.bench [--quick …]` runs the benchmark (as `stic bench`); `_worker` is figure 2's ingest."""
    import argparse

    if argv[:1] != ["_worker"]:
        p = argparse.ArgumentParser(prog="python -m stic.dev.bench")
        add_cli(p.add_subparsers(dest="command"))
        return cmd_bench(p.parse_args(["bench", *argv]))
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["_worker"])
    p.add_argument("--url", required=True)
    p.add_argument("--path")
    p.add_argument("--submitter", required=True)
    p.add_argument("--period", required=True)
    a = p.parse_args(argv)
    switch_off_telemetry()
    print(json.dumps(_worker(Path(a.path) if a.path else None, a.url, a.submitter, a.period)))
    return 0
