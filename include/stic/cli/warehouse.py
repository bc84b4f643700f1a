"""`stic db`, `stic setup`, `stic build` and `stic run`: the warehouse server, Airflow and dbt, operated by hand."""

from __future__ import annotations

import time

from stic.config import settings


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


def cmd_verify(args) -> int:
    from stic.ops.maintenance import test_whole_warehouse

    out = test_whole_warehouse()
    print(f"dbt tests: {out['tests']} passed ({out['nightly_tests']} of them nightly-only), {out['seconds']}s")
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


def add_db(sub) -> None:
    d = sub.add_parser("db", help="the warehouse: start | stop | status | url | init | roles")
    d.add_argument("action", choices=["start", "stop", "status", "url", "init", "roles"],
                   help="roles: create the loader, transformer, BI reader, auditor and district analyst roles "
                        "and (re)apply grants and row-level security (idempotent)")
    d.add_argument("--listen", metavar="HOST:PORT",
                   help="start: the embedded server also listens on TCP there (password logins), for BI tools")
    d.set_defaults(func=cmd_db)


def add_build(sub) -> None:
    b = sub.add_parser("build", help="dbt build of staging and marts (outside Airflow)")
    b.add_argument("--full-refresh", action="store_true")
    b.set_defaults(func=cmd_build)


def add_verify(sub) -> None:
    sub.add_parser(
        "verify",
        help="every dbt test on the warehouse, the nightly whole-table ones too (what the verify_warehouse DAG runs)",
        description="Runs `dbt test` with the tests that builds leave out (tag nightly: the ranking views' "
                    "tests, which read every row a kind ever had). Exit 1 naming each failing test.",
    ).set_defaults(func=cmd_verify)


def add_setup(sub) -> None:
    sub.add_parser("setup", help="prepare Airflow's metadata DB and dbt's manifest").set_defaults(func=cmd_setup)


def add_run(sub) -> None:
    sub.add_parser("run", help="run the DAGs (airflow dags test) on the landing area and print the summary"
                   ).set_defaults(func=cmd_run)
