"""`stic`: the command line of the STIC warehouse, for data engineers and submitters."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from stic.config import settings, switch_off_telemetry

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


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def cmd_db(args) -> int:
    from stic.warehouse import db

    if args.action == "start":
        if settings().warehouse_url:
            print(f"WAREHOUSE_URL is set; using {db.redact(settings().warehouse_url)} (nothing to start)")
        else:
            print(f"embedded PostgreSQL running: {db.embedded_start(listen=args.listen)}")
            if args.listen:
                print(f"listening on {args.listen} for ODBC/JDBC tools (password logins, e.g. stic_bi_reader after "
                      "`stic db roles` with STIC_ROLE_PASSWORD_STIC_BI_READER set)")
        with db.connect() as conn:
            db.init_schema(conn)
        return 0
    if args.action == "stop":
        if settings().warehouse_url:
            print("WAREHOUSE_URL is set; the embedded server is not in use")
            return 0
        print("stopped" if db.embedded_stop() else "not running")
        return 0
    if args.action == "status":
        if settings().warehouse_url:
            url = settings().warehouse_url
            try:
                with db.connect(url) as conn:
                    v = conn.execute("show server_version").fetchone()[0]
                print(f"WAREHOUSE_URL {db.redact(url)}: up (PostgreSQL {v})")
                return 0
            except db.WarehouseUnavailable as e:
                print(str(e))
                return 1
        pid = db.embedded_running()
        print(f"embedded PostgreSQL in {settings().pgdata_dir}: " + (f"running (pid {pid})" if pid else "stopped"))
        return 0 if pid else 3
    if args.action == "url":
        print(db.warehouse_url())
        return 0
    if args.action == "init":
        with db.connect() as conn:
            db.init_schema(conn)
        print("schemas raw, staging, intermediate, marts, audit ready")
        return 0
    if args.action == "roles":
        from stic.warehouse import roles

        with db.connect() as conn:
            db.init_schema(conn)
            done = roles.apply(conn)
        print(f"roles ready: {', '.join(done['roles'][:4])} and {len(done['roles']) - 4} district analysts "
              f"(stic_analyst_pd, …); row-level security on {len(done['row_level_security'])} mart tables")
        return 0
    return 2


def cmd_generate(args) -> int:
    from stic.dev.sample import generate

    m = generate(Path(args.out), scale=args.scale, seed=args.seed)
    print(f"wrote {len(m.files)} files under {args.out}: "
          + ", ".join(f"{k}: {v:,} valid rows + {m.invalid_rows.get(k, 0):,} invalid" for k, v in m.valid_rows.items()))
    return 0


def _problem_lines(outcome) -> list[str]:
    lines = []
    for p in outcome.problems:
        where = f"row {p['row']}" + (f" (sheet {p['sheet']})" if p.get("sheet") else "")
        lines.append(f"  {where}, column {p['column']}: {p['message']} [{p['rule']}]")
    return lines


def cmd_check(args) -> int:
    from stic.contract.kinds import SubmissionRuleError, check_submission
    from stic.load import check_file

    path = Path(args.file)
    try:
        check_submission(args.submitter, args.kind, args.period)
    except SubmissionRuleError as e:
        if args.json:
            _print_json({"file": str(path), "accepted": False, "rejected": str(e), "rule": "submission_rule"})
        else:
            print(f"REJECTED {path.name}: {e}")
        return 1
    if not path.is_file():
        print(f"error: {path} is not a file", file=sys.stderr)
        return 2
    outcome = check_file(path, args.kind, submitter=args.submitter, period=args.period)
    result = {
        "file": str(path), "accepted": outcome.would_publish, "rejected": outcome.rejected,
        "rule": outcome.rejected_rule, "format": outcome.format, "encoding": outcome.encoding,
        "rows_received": outcome.rows_received, "rows_accepted": outcome.rows_loaded,
        "rows_quarantined": outcome.rows_quarantined, "rows_with_warnings": outcome.rows_with_warnings,
        "problems": [{k: v for k, v in p.items() if k != "row_data"} for p in outcome.problems],
        "warnings": list(outcome.warnings), "notes": outcome.notes,
        "header_mapping": outcome.header_mapping, "ignored_columns": outcome.ignored_columns,
        "skipped_rows": outcome.skipped_rows,
    }
    if args.json:
        _print_json(result)
    else:
        if outcome.rejected:
            print(f"REJECTED {outcome.rejected}")
        else:
            print(f"OK {path.name}: {outcome.rows_loaded:,} rows would be accepted, "
                  f"{outcome.rows_quarantined:,} quarantined, {outcome.rows_with_warnings:,} with warnings "
                  f"({outcome.format}, {outcome.encoding or 'n/a'})")
        for line in _problem_lines(outcome):
            print(line)
        for w in outcome.warnings:
            print(f"  row {w['row']}: warning: {w['message']} [{w['rule']}]")
        for n in outcome.notes:
            print(f"  note: {n}")
        for line in _intake_lines(outcome.header_mapping, outcome.ignored_columns, outcome.skipped_rows):
            print(line)
    return 1 if outcome.rejected else 0


def _intake_lines(mapping: list[dict], ignored: list[str], skipped: list[dict], skipped_total: int | None = None) -> list[str]:
    """How the file was read, column by column: 市财政拨款（万元） → funding_municipal_yuan ×10,000."""
    from stic.reports.receipts import mapping_line

    lines = ["  columns read:"] if mapping else []
    lines += [f"    {mapping_line(m)}" for m in mapping]
    if ignored:
        lines.append(f"  columns ignored (no amounts in them): {', '.join(ignored)}")
    for x in skipped:
        where = f"row {x.get('row')}" + (f" (sheet {x['sheet']})" if x.get("sheet") else "")
        lines.append(f"  skipped {where}: {x.get('reason')}" + (f": {x['text']}" if x.get("text") else ""))
    if skipped_total and skipped_total > len(skipped):
        lines.append(f"  … {skipped_total - len(skipped):,} more skipped rows")
    return lines


def cmd_ingest(args) -> int:
    from stic import pipeline

    if args.landing:
        # New files and every submission a crash or an error left half-way, as the DAG takes them.
        run = pipeline.ingest_landing()
        _print_json([o.as_dict() for o in run.outcomes])
        for why in run.skipped:
            print(f"skipped: {why}", file=sys.stderr)
        for o in run.unfinished:
            print(f"not finished: submission {o.submission_id} ({pipeline.safe_text(o.original_name)}) is {o.status}"
                  + (f": {o.reason}" if o.reason else "")
                  + (f"; internal error {o.attempts_failed} time(s): {o.error}" if o.error else ""), file=sys.stderr)
        return 1 if any(o.error for o in run.unfinished) else 0
    if not (args.file and args.submitter and args.kind and args.period):
        print("error: give FILE --submitter --kind --period, or --landing", file=sys.stderr)
        return 2
    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path} is not a file", file=sys.stderr)
        return 2
    out = pipeline.ingest_file(path, submitter=args.submitter.upper(), kind=args.kind, period=args.period.upper())
    _print_json({**out.as_dict(), **_ingest_intake(out.submission_id)})
    return 1 if out.status == "rejected" else 0


def _ingest_intake(submission_id: int) -> dict:
    """What `stic ingest` adds to the outcome: the header mapping, the ignored columns, the skipped layout
    rows, and for quarantined rows the first reasons and the count per rule (as the receipt shows them)."""
    from stic.reports.receipts import intake_data
    from stic.warehouse import db

    with db.connect(autocommit=True) as conn:
        return intake_data(conn, submission_id)


def cmd_submissions(args) -> int:
    from psycopg.rows import dict_row

    from stic.warehouse import db

    q = ("select submission_id, submitter_code, kind, period, channel, original_name, status, rows_loaded, "
         "rows_quarantined, received_at, status_reason from audit.submissions")
    where, params = [], []
    for col in ("status", "kind"):
        if getattr(args, col):
            where.append(f"{col} = %s")
            params.append(getattr(args, col))
    if args.submitter:
        where.append("submitter_code = %s")
        params.append(args.submitter.upper())
    if where:
        q += " where " + " and ".join(where)
    q += " order by submission_id"
    with db.connect() as conn:
        db.init_schema(conn)
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(q, params).fetchall()
    if args.json:
        _print_json(rows)
        return 0
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"audit.submissions ({len(rows)})")
    for c in ("id", "submitter", "kind", "period", "file", "status", "loaded", "quarantined", "reason"):
        t.add_column(c)
    for r in rows:
        t.add_row(str(r["submission_id"]), r["submitter_code"], r["kind"], r["period"], r["original_name"], r["status"],
                  str(r["rows_loaded"] or ""), str(r["rows_quarantined"] or ""), (r["status_reason"] or "")[:60])
    Console().print(t)
    return 0


def cmd_summary(args) -> int:
    from stic.reports import summary

    s = summary.collect()
    if args.json:
        _print_json(s)
    else:
        print(summary.render(s))
    return 0


def cmd_build(args) -> int:
    from stic.warehouse import db, roles
    from stic.warehouse import dbt_runner as dbt

    dbt.run(["build", *(["--full-refresh"] if args.full_refresh else [])])
    from stic import faults

    faults.point("build.roles")
    with db.connect() as conn:
        roles.apply(conn)
    print("dbt build: ok; grants and row-level security re-applied")
    return 0


def cmd_setup(args) -> int:
    from stic.ops import airflow_env
    from stic.warehouse import dbt_runner as dbt

    s = settings()
    for d in (s.incoming_dir, s.archive_dir, s.reports_dir, s.data_dir):
        d.mkdir(parents=True, exist_ok=True)
    t = time.monotonic()
    airflow_env.migrate()
    print(f"airflow metadata ready in {airflow_env.airflow_home()} ({time.monotonic() - t:.0f}s)")
    from stic.warehouse import db

    print(f"airflow connection {db.WAREHOUSE_CONN_ID}: {db.redact(db.warehouse_url(start=False))} "
          f"(set as {airflow_env.CONN_ENV} by `stic`; see README, Configuration)")
    dbt.parse()
    print(f"dbt manifest written: {dbt.manifest_path()}")
    return 0


def run_dags(url: str) -> None:
    """`airflow dags test` each DAG in turn, streaming progress; the full log goes to a file."""
    import re
    import subprocess

    from stic.ops import airflow_env

    end_task = re.compile(r"\[DAG TEST\] end task task_id=(?P<task>\S+)(?: map_index=(?P<idx>-?\d+))?")
    for dag_id in airflow_env.DAG_IDS:
        t = time.monotonic()
        print(f"airflow dags test {dag_id} …", flush=True)
        log_file = airflow_env.airflow_home() / f"last-{dag_id}.log"
        log_file.parent.mkdir(parents=True, exist_ok=True)
        done, failed, tail = 0, False, []
        with log_file.open("w") as log, subprocess.Popen(
            [airflow_env.airflow_bin(), "dags", "test", dag_id], env=airflow_env.env(url),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        ) as proc:
            for line in proc.stdout:
                log.write(line)
                tail = (tail + [line.rstrip()])[-40:]
                if "state=failed" in line and "DagRun Finished" in line:
                    failed = True
                m = end_task.search(line)
                if m:
                    done += 1
                    if done % 25 == 0:
                        print(f"  … {done} tasks done ({time.monotonic() - t:.0f}s)", flush=True)
        if proc.returncode != 0 or failed:
            raise SystemExit(f"DAG {dag_id} failed (exit {proc.returncode}); full log: {log_file}\n" + "\n".join(tail))
        print(f"  {dag_id}: success, {done} tasks in {time.monotonic() - t:.0f}s (log: {log_file})", flush=True)


def _totals(url: str) -> tuple[int, int]:
    from stic.warehouse import db

    with db.connect(url) as conn:
        db.init_schema(conn)
        return conn.execute(
            "select count(*), coalesce(sum(rows_loaded), 0) from audit.submissions where status <> 'duplicate'"
        ).fetchone()


def cmd_run(args) -> int:
    from stic.reports import summary
    from stic.warehouse import db

    url = db.warehouse_url()
    before = _totals(url)
    run_dags(url)
    after = _totals(url)
    print(summary.render(summary.collect(url), new={"submissions": after[0] - before[0], "rows": after[1] - before[1]}))
    return 0


def cmd_demo(args) -> int:
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stic", description="The STIC warehouse: intake, validation, marts and reports, for data engineers and submitters.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens, step by step")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("db", help="the warehouse: start | stop | status | url | init | roles")
    d.add_argument("action", choices=["start", "stop", "status", "url", "init", "roles"],
                   help="roles: create the loader, transformer, BI reader, auditor and district analyst roles "
                        "and (re)apply grants and row-level security (idempotent)")
    d.add_argument("--listen", metavar="HOST:PORT",
                   help="start: the embedded server also listens on TCP there (password logins), for BI tools")
    d.set_defaults(func=cmd_db)

    g = sub.add_parser("generate", help="write realistic sample submissions into a folder")
    g.add_argument("--out", default=str(settings().incoming_dir), help="folder (default: landing/incoming)")
    g.add_argument("--scale", type=float, default=1.0, help="1 reproduces the published figures (default 1)")
    g.add_argument("--seed", type=int, default=42, help="same seed, same files (default 42)")
    g.set_defaults(func=cmd_generate)

    for name, func, helptext in (("check", cmd_check, "dry run: parse and apply the rules to a file, load nothing"),
                                 ("ingest", cmd_ingest, "load a file (or every new file in the landing area)")):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("file", nargs="?" if name == "ingest" else None, help="CSV, XLSX or JSON file")
        c.add_argument("--submitter", required=name == "check", help="district (PD) or agency (STCSM) code")
        c.add_argument("--kind", required=name == "check", help="projects | facilities | platform_assessments | ip_transactions")
        c.add_argument("--period", required=name == "check", help="2018 or 2018Q4")
        if name == "check":
            c.add_argument("--json", action="store_true", help="print the result as JSON")
        else:
            c.add_argument("--landing", action="store_true", help="ingest every new file in landing/incoming")
        c.set_defaults(func=func)

    s = sub.add_parser("submissions", help="the submission ledger")
    s.add_argument("--status")
    s.add_argument("--kind")
    s.add_argument("--submitter")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_submissions)

    sm = sub.add_parser("summary", help="what the warehouse holds, and where the reports are")
    sm.add_argument("--json", action="store_true")
    sm.set_defaults(func=cmd_summary)

    b = sub.add_parser("build", help="dbt build of staging and marts (outside Airflow)")
    b.add_argument("--full-refresh", action="store_true")
    b.set_defaults(func=cmd_build)

    sub.add_parser("setup", help="prepare Airflow's metadata DB and dbt's manifest").set_defaults(func=cmd_setup)
    sub.add_parser("run", help="run the DAGs (airflow dags test) on the landing area and print the summary"
                   ).set_defaults(func=cmd_run)
    dm = sub.add_parser("demo", help="generate a sample, run the whole pipeline through Airflow, print the summary")
    dm.add_argument("--scale", type=float, default=1.0)
    dm.add_argument("--seed", type=int, default=42)
    dm.set_defaults(func=cmd_demo)

    from stic.agencies import pull as agency_pull
    from stic.contract import seeds
    from stic.dev import agency_api, bench
    from stic.ledger import declarations
    from stic.reports import receipts as report_receipts
    from stic.reports import site as report_site
    from stic.reports import trace

    agency_api.add_cli(sub)  # stic agency-api serve --port P --token T [--fault …]
    agency_pull.add_cli(sub)  # stic pull --agency A --kind K [--since ISO] [--until ISO]
    report_receipts.add_cli(sub)  # stic receipt SUBMISSION_ID [--format html|json] [--show]
    report_site.add_cli(sub)  # stic report [--out DIR]
    bench.add_cli(sub)  # stic bench [--scale F] [--rows N] [--quick] [--out DIR]
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


if __name__ == "__main__":
    sys.exit(main())
