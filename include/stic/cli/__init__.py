"""`stic`: the command line of the STIC warehouse, for data engineers and submitters.

One module per command group: intake.py (check, ingest), warehouse.py (db, setup, build, run), reports.py
(submissions, summary), bi.py (bi: Superset), dev.py (generate, demo, agency-api, bench: stic.dev is imported only when one of
them runs). Commands that belong to one product module register themselves with its `add_cli` (pull,
receipt, report, declare-nil, seeds, trace). build_parser lists them all, in the order `stic --help` shows.
"""

from __future__ import annotations

import argparse
import logging
import sys

from stic.cli import bi, dev, intake, reports, warehouse
from stic.cli.dev import cmd_demo, cmd_generate  # noqa: F401 - the commands stay reachable as stic.cli.cmd_*
from stic.cli.intake import cmd_check, cmd_ingest  # noqa: F401
from stic.cli.reports import cmd_submissions, cmd_summary  # noqa: F401
from stic.cli.warehouse import cmd_build, cmd_db, cmd_run, cmd_setup, run_dags  # noqa: F401
from stic.config import switch_off_telemetry

EPILOG = """\
examples:
  stic demo                                   sample data through the whole pipeline (README's first command)
  stic check file.csv --submitter PD --kind projects --period 2018
                                              dry run: would this file be accepted? (exit 1 if rejected)
  stic ingest file.csv --submitter PD --kind projects --period 2018
  stic submissions --status rejected          the ledger
  stic db url                                 the warehouse's connection URL (for psql, BI tools)

configuration: WAREHOUSE_URL (else an embedded PostgreSQL under .stic/pgdata), STIC_HOME,
STIC_LANDING_DIR, STIC_REPORTS_DIR, STIC_DATA_DIR; see README.md.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stic", description="The STIC warehouse: intake, validation, marts and reports, for data engineers and submitters.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens, step by step")
    # LazyParser behaves as ArgumentParser unless given a `fill` (dev.py's agency-api and bench).
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=dev.LazyParser)

    from stic.agencies import pull as agency_pull
    from stic.contract import seeds
    from stic.ledger import declarations
    from stic.reports import receipts as report_receipts
    from stic.reports import site as report_site
    from stic.reports import trace

    warehouse.add_db(sub)  # stic db start|stop|status|url|init|roles
    dev.add_generate(sub)  # stic generate [--out DIR] [--scale F] [--seed N]
    intake.add_check_and_ingest(sub)  # stic check|ingest FILE --submitter S --kind K --period P
    reports.add_submissions(sub)  # stic submissions [--status …] [--json]
    reports.add_summary(sub)  # stic summary [--json]
    warehouse.add_build(sub)  # stic build [--full-refresh]
    warehouse.add_verify(sub)  # stic verify
    warehouse.add_setup(sub)  # stic setup
    warehouse.add_run(sub)  # stic run
    dev.add_demo(sub)  # stic demo [--scale F] [--seed N]
    bi.add_bi(sub)  # stic bi setup|start|stop|status
    dev.add_agency_api(sub)  # stic agency-api serve --port P --token T [--fault …]
    agency_pull.add_cli(sub)  # stic pull --agency A --kind K [--since ISO] [--until ISO]
    report_receipts.add_cli(sub)  # stic receipt SUBMISSION_ID [--format html|json] [--show]
    report_site.add_cli(sub)  # stic report [--out DIR]
    dev.add_bench(sub)  # stic bench [--scale F] [--rows N] [--quick] [--out DIR]
    declarations.add_cli(sub)  # stic declare-nil --submitter S --kind K --period P [--note …]
    seeds.add_cli(sub)  # stic seeds [--check]
    trace.add_cli(sub)  # stic trace MART KEY [--json]
    return p


def main(argv: list[str] | None = None) -> int:
    switch_off_telemetry()
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from stic.warehouse.db import WarehouseUnavailable
    from stic.warehouse.dbt_runner import DbtFailed

    try:
        return args.func(args) or 0
    except (WarehouseUnavailable, DbtFailed) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to carry on where it stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `stic check … | head`: the reader left; say nothing more (Python docs, SIGPIPE)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
