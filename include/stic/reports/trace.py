"""`stic trace <mart> <key>`: where a published fact row came from, cell by cell, and who else reported its key.

For an auditor's question "where does this number come from?": the file (name, sha256, archive path, time
received), the sheet and row, the cells as submitted (re-read from the archived original), the values as
normalised into raw, the validation run and its rules, the publication, and every other submission that
reported the same key with the reason it did not win (corrected, rejected, quarantined, or lower precedence).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from stic.config import settings
from stic.contract.kinds import KINDS
from stic.warehouse import db

# mart -> (kind, key column in the mart and in raw, extra condition picking the row in force)
MARTS = {
    "fct_projects": ("projects", "project_code", None),
    "dim_facility": ("facilities", "facility_code", "is_current"),
    "fct_ip_transactions": ("ip_transactions", "transaction_code", None),
    "fct_platform_assessments": ("platform_assessments", "platform_code", None),
}


class TraceError(LookupError):
    """Nothing to trace: an unknown mart, or a key nobody reported."""


def _rows(conn: psycopg.Connection, query, params=()) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


def submitted_cells(sub: dict, kind: str, sheet: str | None, row_number: int) -> dict:
    """The row as it stands in the archived original: {header: cell}; or why it cannot be shown."""
    from stic.intake.readers import FileRejected, open_table

    path = settings().landing_dir / sub["archive_path"]
    if not path.exists():
        return {"error": f"the archived original {path} is missing (run the maintain_warehouse DAG's archive check)"}
    try:
        table = open_table(path, KINDS[kind])
        for number, row_sheet, cells in table.rows:
            if number == row_number and (row_sheet or "") == (sheet or ""):
                return {"header_row": table.header_row, "format": table.format,
                        "cells": {str(h): ("" if c is None else str(c)) for h, c in zip(table.headers, cells, strict=False)}}
        return {"error": f"row {row_number} of sheet {sheet!r} was not found when the original was read again"}
    except FileRejected as e:
        return {"error": f"the original cannot be read again: {e}"}


def _precedence_reason(loser: dict, winner: dict) -> str:
    """Why a published report lost to the canonical one (mirrors macro report_precedence)."""
    if loser["precedence_rank"] != winner["precedence_rank"]:
        return (f"an agency's report ({winner['submitter_code']}) beats a district's ({loser['submitter_code']})"
                if winner["precedence_rank"] < loser["precedence_rank"] else "lower submitter precedence")
    if loser.get("is_other_district_report") and not winner.get("is_other_district_report"):
        return (f"{loser['submitter_code']} reported a key that belongs to district {winner['submitter_code']}; "
                f"the owner's report wins (see rpt_reporting_conflicts)")
    if loser["period_end_date"] != winner["period_end_date"]:
        return f"the later reporting period wins ({winner['period']} over {loser['period']})"
    if loser["is_annual"] != winner["is_annual"]:
        return f"for the same end date the annual report wins ({winner['period']} over {loser['period']})"
    return (f"published later wins (submission {winner['submission_id']} at {winner['published_at']:%Y-%m-%d %H:%M} "
            f"over {loser['submission_id']})")


REPORTED = """
select r.submission_id, r.source_sheet, r.source_row_number, r.row_warnings, to_jsonb(r)::text as normalised,
       s.submitter_code, s.kind, s.period, s.channel, s.original_name, s.sha256, s.archive_path, s.received_at,
       s.status, s.status_reason, s.published_at, s.superseded_by, s.load_id,
       coalesce(s.is_nil_declaration, false) as is_nil_declaration,
       case when s.submitter_code = any(%(districts)s) then 2 else 1 end as precedence_rank,
       s.period !~ 'Q' as is_annual,
       (make_date(left(s.period, 4)::int, case when s.period ~ 'Q' then right(s.period, 1)::int * 3 - 2 else 1 end, 1)
        + case when s.period ~ 'Q' then interval '3 months' else interval '1 year' end - interval '1 day')::date
           as period_end_date
from {raw} as r
join audit.submissions as s on s.submission_id = r.submission_id and s.load_id = r.load_id
where r.{key} = %(key)s
order by r.submission_id, r.source_sheet, r.source_row_number
"""


def trace(conn: psycopg.Connection, mart: str, key: str) -> dict:
    from stic.contract import codes

    if mart not in MARTS:
        raise TraceError(f"unknown mart {mart!r}: stic trace knows {', '.join(MARTS)}")
    kind, key_col, current = MARTS[mart]
    mart_rows = []
    if _exists(conn, f"marts.{mart}"):
        q = sql.SQL("select * from {} where {} = %s{}").format(
            sql.Identifier("marts", mart), sql.Identifier(key_col),
            sql.SQL(" and {}").format(sql.Identifier(current)) if current else sql.SQL(""))
        mart_rows = _rows(conn, q, (key,))
    reported = _rows(conn, sql.SQL(REPORTED).format(raw=sql.Identifier("raw", KINDS[kind].raw_table),
                                                     key=sql.Identifier(KINDS[kind].key)),
                     {"key": key, "districts": list(codes.codes("district"))})
    quarantined = _rows(conn, """
        select q.submission_id, q.source_sheet, q.source_row_number, q.column_name, q.submitted_value, q.rule,
               q.severity, q.message, s.submitter_code, s.period, s.original_name
        from audit.rejected_rows as q join audit.submissions as s using (submission_id)
        where s.kind = %s and exists (select 1 from jsonb_each_text(coalesce(q.row_data, '{}'::jsonb)) as e
                                      where btrim(e.value) = %s)
        order by q.submission_id, q.source_row_number""", (kind, key))
    if not mart_rows and not reported and not quarantined:
        raise TraceError(f"no submission reported {key_col} {key!r} ({kind}); check the code, or `stic submissions "
                         f"--kind {kind}` for what was received")
    canonical_id = mart_rows[0]["submission_id"] if mart_rows else None
    winner = next((r for r in reported if r["submission_id"] == canonical_id), None)
    source = None
    if winner:
        runs = _rows(conn, """
            select v.validation_run_id, v.suite_name, v.run_at, v.success, v.critical_failures, v.warnings,
                   v.evaluated, v.rows_checked,
                   (select jsonb_agg(jsonb_build_object('rule', r.rule, 'severity', r.severity, 'column', r.column_name,
                                                        'success', r.success, 'unexpected', r.unexpected_count)
                                     order by r.validation_result_id)
                    from audit.validation_results as r where r.validation_run_id = v.validation_run_id) as results
            from audit.validation_runs as v where v.submission_id = %s and v.target = 'load'
            order by v.run_at""", (canonical_id,))
        events = _rows(conn, "select at, from_status, to_status, detail from audit.submission_events "
                             "where submission_id = %s order by event_id", (canonical_id,))
        # parsed here, not by the driver, so that amounts stay exact decimals
        values = json.loads(winner["normalised"], parse_float=Decimal)
        normalised = {c: values.get(c) for c in KINDS[kind].contract_column_names}
        source = {
            "submission_id": canonical_id, "submitter_code": winner["submitter_code"], "period": winner["period"],
            "file": {"name": winner["original_name"], "sha256": winner["sha256"], "channel": winner["channel"],
                     "archive_path": str(settings().landing_dir / winner["archive_path"]),
                     "received_at": winner["received_at"]},
            "sheet": winner["source_sheet"] or None, "row": winner["source_row_number"],
            "submitted": submitted_cells(winner, kind, winner["source_sheet"], winner["source_row_number"]),
            "normalised": normalised, "row_warnings": list(winner["row_warnings"] or []),
            "validation_runs": runs,
            "publication": {"status": winner["status"], "published_at": winner["published_at"],
                            "reason": winner["status_reason"], "events": events},
        }
    others = []
    for r in reported:
        if r["submission_id"] == canonical_id:
            continue
        if r["status"] == "published" and winner:
            why = _precedence_reason(r, winner)
        elif r["status"] == "published":
            why = "published, but the mart has no row for the key (not built since?)"
        elif r["status"] == "superseded":
            why = f"corrected: superseded by submission {r['superseded_by']} ({r['status_reason']})"
        elif r["status"] in ("received", "parsed", "validated"):
            why = f"not published yet (status {r['status']})"
        else:
            why = f"{r['status']}: {r['status_reason']}"
        others.append({"submission_id": r["submission_id"], "submitter_code": r["submitter_code"],
                       "period": r["period"], "file": r["original_name"], "status": r["status"],
                       "sheet": r["source_sheet"] or None, "row": r["source_row_number"], "why_not": why})
    for q in quarantined:
        others.append({"submission_id": q["submission_id"], "submitter_code": q["submitter_code"],
                       "period": q["period"], "file": q["original_name"], "status": "quarantined row",
                       "sheet": q["source_sheet"] or None, "row": q["source_row_number"],
                       "why_not": f"row quarantined by rule {q['rule']} ({q['severity']}): column {q['column_name']}, "
                                  f"value {q['submitted_value']!r}: {q['message']}"})
    return {"mart": mart, "key_column": key_col, "key": key, "mart_rows": mart_rows, "source": source,
            "other_reports": others}


def _plain(v):
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, Path):
        return str(v)
    return v


def render(t: dict) -> str:
    out = [f"{t['mart']} {t['key_column']} = {t['key']}"]
    if not t["mart_rows"]:
        out.append("  no row in the mart (not published, or the mart is not built)")
    for row in t["mart_rows"]:
        out.append("  mart row: " + ", ".join(f"{k}={_plain(v)}" for k, v in row.items() if v is not None))
    s = t["source"]
    if s:
        f = s["file"]
        out += ["", f"Source: submission {s['submission_id']} ({s['submitter_code']} {s['period']}, {f['channel']})",
                f"  file:        {f['name']}", f"  sha256:      {f['sha256']}", f"  archived at: {f['archive_path']}",
                f"  received at: {_plain(f['received_at'])}",
                f"  sheet / row: {s['sheet'] or '(single table)'} / row {s['row']}", "", "As submitted:"]
        sub = s["submitted"]
        if "error" in sub:
            out.append(f"  ({sub['error']})")
        else:
            out += [f"  {h}: {v}" for h, v in sub["cells"].items()]
        out += ["", "Normalised (raw):"] + [f"  {k}: {_plain(v)}" for k, v in s["normalised"].items() if v is not None]
        out.append(f"  row warnings: {', '.join(s['row_warnings']) or 'none'}")
        out += ["", "Validation:"]
        for v in s["validation_runs"]:
            failed = [r for r in (v["results"] or []) if not r["success"]]
            out.append(f"  run {v['validation_run_id']} suite {v['suite_name']} at {_plain(v['run_at'])}: "
                       f"{'passed' if v['success'] else 'failed'}, {v['evaluated']} rules checked, "
                       f"{v['critical_failures']} critical, {v['warnings']} warning(s)")
            out += [f"    {r['severity']} {r['rule']} on {r['column'] or '-'}: {r['unexpected']} unexpected" for r in failed]
        if not s["validation_runs"]:
            out.append("  no validation run recorded")
        p = s["publication"]
        out += ["", f"Publication: {p['status']} at {_plain(p['published_at'])} ({p['reason']})"]
        out += [f"  {_plain(e['at'])} {e['from_status'] or '-'} -> {e['to_status']}: {e['detail'] or ''}" for e in p["events"]]
    out += ["", "Other reports of the same key:"]
    out += [f"  submission {o['submission_id']} {o['submitter_code']} {o['period']} {o['file']} "
            f"(row {o['row']}{', sheet ' + o['sheet'] if o['sheet'] else ''}): {o['why_not']}" for o in t["other_reports"]]
    if not t["other_reports"]:
        out.append("  none")
    return "\n".join(out)


def cmd_trace(args) -> int:
    with db.connect(db.warehouse_url(), autocommit=True) as conn:
        try:
            t = trace(conn, args.mart, args.key)
        except TraceError as e:
            print(f"error: {e}")
            return 1
    if args.json:
        print(json.dumps(t, default=_plain, ensure_ascii=False, indent=2))
    else:
        print(render(t))
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser("trace", help="where a published row came from: file, sheet, row, cells, rules, publication")
    p.add_argument("mart", choices=sorted(MARTS), help="the mart the row is in")
    p.add_argument("key", help="the business key (project_code, facility_code, transaction_code, platform_code)")
    p.add_argument("--json", action="store_true", help="print the trace as JSON")
    p.set_defaults(func=cmd_trace)
