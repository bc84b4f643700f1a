"""`stic generate`, `stic demo`, `stic agency-api` and `stic bench`: the dev tooling's commands.

stic.dev is imported only when one of these commands runs: `stic --help` and the product's commands never
load the sample generator, the reference agency API or the benchmark. The parsers of `agency-api` and
`bench` are written by their own modules (`add_cli`, also used by `python -m stic.dev.bench`), so they are
registered here as lazy parsers that the module fills in when the command is parsed; the one-line help
shown by `stic --help` is kept here, and tests/test_architecture.py checks it matches the module's."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from stic.config import settings

#: The help line of each lazily registered command, as its module's add_cli gives it.
LAZY_HELP = {
    "agency-api": "the reference agency API (for demos and tests)",
    "bench": "measure the pipeline against the machine's own limits (ratios against same-run baselines)",
}


class LazyParser(argparse.ArgumentParser):
    """An argparse parser whose arguments are added by `fill` the first time it parses (or prints help)."""

    fill = None

    def parse_known_args(self, args=None, namespace=None):
        if self.fill is not None:
            fill, self.fill = self.fill, None
            fill(_Into(self))
        return super().parse_known_args(args, namespace)


class _Into:
    """Stands for the subparsers an add_cli registers on: hands back the parser already registered."""

    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser

    def add_parser(self, name, help=None, **kwargs):
        for key, value in kwargs.items():  # description, formatter_class, epilog, as the constructor takes them
            setattr(self.parser, key, value)
        return self.parser


def cmd_generate(args) -> int:
    from stic.dev.sample import generate

    m = generate(Path(args.out), scale=args.scale, seed=args.seed)
    print(f"wrote {len(m.files)} files under {args.out}: "
          + ", ".join(f"{k}: {v:,} valid rows + {m.invalid_rows.get(k, 0):,} invalid" for k, v in m.valid_rows.items()))
    return 0


def cmd_demo(args) -> int:
    from stic.cli.warehouse import cmd_run
    from stic.dev.sample import generate
    from stic.warehouse import db

    s = settings()
    if s.warehouse_url:
        print(f"warehouse: WAREHOUSE_URL ({db.redact(s.warehouse_url)})")
    else:
        print(f"warehouse: embedded PostgreSQL in {s.pgdata_dir} (set WAREHOUSE_URL to use another)")
    url = db.warehouse_url()
    with db.connect(url) as conn:
        db.init_schema(conn)
    m = generate(s.incoming_dir, scale=args.scale, seed=args.seed)
    # The sample was written whole just now: no upload can be in flight, so no settle time (the DAG inherits it).
    os.environ.setdefault("STIC_LANDING_SETTLE_SECONDS", "0")
    print(f"sample: {len(m.files)} files from districts and agencies in {s.incoming_dir} ("
          + ", ".join(f"{k}: {v:,} valid + {m.invalid_rows.get(k, 0):,} invalid rows" for k, v in m.valid_rows.items()) + ")")
    return cmd_run(args)


def add_generate(sub) -> None:
    g = sub.add_parser("generate", help="write realistic sample submissions into a folder")
    g.add_argument("--out", default=str(settings().incoming_dir), help="folder (default: landing/incoming)")
    g.add_argument("--scale", type=float, default=1.0, help="1 reproduces the published figures (default 1)")
    g.add_argument("--seed", type=int, default=42, help="same seed, same files (default 42)")
    g.set_defaults(func=cmd_generate)


def add_demo(sub) -> None:
    dm = sub.add_parser("demo", help="generate a sample, run the whole pipeline through Airflow, print the summary")
    dm.add_argument("--scale", type=float, default=1.0)
    dm.add_argument("--seed", type=int, default=42)
    dm.set_defaults(func=cmd_demo)


def _add_lazy(sub, name: str, fill) -> None:
    parser = sub.add_parser(name, help=LAZY_HELP[name])
    parser.fill = fill


def _fill_agency_api(into) -> None:
    from stic.dev import agency_api

    agency_api.add_cli(into)  # stic agency-api serve --port P --token T [--fault …]


def _fill_bench(into) -> None:
    from stic.dev import bench

    bench.add_cli(into)  # stic bench [--scale F] [--rows N] [--quick] [--out DIR]


def add_agency_api(sub) -> None:
    _add_lazy(sub, "agency-api", _fill_agency_api)


def add_bench(sub) -> None:
    _add_lazy(sub, "bench", _fill_bench)
