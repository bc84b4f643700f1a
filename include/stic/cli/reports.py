"""`stic submissions` and `stic summary`: what the ledger and the warehouse hold, read-only."""

from __future__ import annotations

from stic.cli.output import print_json


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
        print_json(rows)
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
        print_json(s)
    else:
        print(summary.render(s))
    return 0


def add_submissions(sub) -> None:
    s = sub.add_parser("submissions", help="the submission ledger")
    s.add_argument("--status")
    s.add_argument("--kind")
    s.add_argument("--submitter")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_submissions)


def add_summary(sub) -> None:
    sm = sub.add_parser("summary", help="what the warehouse holds, and where the reports are")
    sm.add_argument("--json", action="store_true")
    sm.set_defaults(func=cmd_summary)
