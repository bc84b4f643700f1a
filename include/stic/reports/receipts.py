"""Receipts: what a submitter sent, what was accepted, what was rejected and why — one per submission.

A receipt is written when its submission reaches a terminal status (published, rejected, duplicate,
superseded) and is then frozen: reports/receipts/<submission_id>.json and .html. Writing it again
changes nothing while the status stays the same. When the status changes later (a published
submission is superseded by a correction), the receipt gets a new version: the old files move to
reports/receipts/history/<submission_id>.v<N>.json/.html and the new ones take their place, so the
address of a receipt always shows its current state and the earlier versions stay on record.

Every value a submitter sent is shown in the HTML through Jinja's autoescape.
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from stic import faults, ledger
from stic.config import settings
from stic.contract import codes, messages
from stic.contract.kinds import KINDS
from stic.reports.render import jsonable_default, render, write_atomic

log = logging.getLogger(__name__)

RECEIPT_FORMAT = 1
EXAMPLES_PER_RULE = 10

# The words of every rule — what it means and what to fix, in Chinese and English — are in the message
# catalogue (stic.contract.messages, contract/reference/messages.yml): row rules (stic.intake.normalise.RULES),
# expectation rules (expectations/*.py), file and submission rules and the statuses duplicate/superseded.
# A rule the catalogue does not know (an expectation rule without words of its own) gets its code in words.


def _words(rule: str, lang: str = "en") -> str:
    return messages.message(rule, lang, strict=False)


def what_to_fix(rule: str, columns: list[str] | None = None, values: list[str] | None = None,
                lang: str = "en") -> str:
    """The catalogue's advice for the rule, its {columns} and {values} filled in (in `lang`, zh or en)."""
    sep = "、" if lang == "zh" else ", "
    cols = sep.join(sorted({c for c in (columns or []) if c})) or None
    vals = sep.join(repr(v) if isinstance(v, str) else str(v) for v in (values or [])[:10]) or None
    return messages.advice(rule, lang, strict=False, columns=cols, values=vals)


def _file_rule(sub: dict) -> str | None:
    """The file- or submission-level rule behind a rejection, guessed from the ledger's reason."""
    if sub["status"] != "rejected":
        return None
    reason = sub["status_reason"] or ""
    if sub["load_id"] is None:
        return "submission_rule" if sub["rows_received"] is None else "unreadable"
    if reason.startswith("failed critical validation"):
        return None  # the failed expectations say it
    if "no row passed the critical rules" in reason:
        return "no_valid_rows"
    if "looks like it carries amounts" in reason:
        return "unmapped_amount"
    if "required column(s) missing" in reason:
        return "missing_columns"
    m = re.search(r"\b(encoding|binary|empty)\b", reason, re.I)
    if m:
        return m.group(1).lower()
    if "column" in reason:
        return "bad_columns"
    return "unreadable"


def receipt_data(conn: psycopg.Connection, submission_id: int) -> dict:
    """Everything a receipt says about one submission, JSON-ready (a plain dict of str/int/bool/None/lists)."""
    sub = ledger.get(conn, submission_id)
    who = codes.submitters().get(sub["submitter_code"], {})
    with conn.cursor(row_factory=dict_row) as cur:
        problems = cur.execute(
            "select source_row_number, source_sheet, column_name, submitted_value, rule, severity, message "
            "from audit.rejected_rows where submission_id = %s order by source_row_number, rejected_row_id",
            (submission_id,),
        ).fetchall()
        runs = cur.execute(
            "select * from audit.validation_runs where submission_id = %s order by run_at, validation_run_id",
            (submission_id,),
        ).fetchall()
        results = cur.execute(
            "select r.* from audit.validation_results r join audit.validation_runs v using (validation_run_id) "
            "where v.submission_id = %s order by r.validation_result_id", (submission_id,),
        ).fetchall()
        events = cur.execute(
            "select at, from_status, to_status, detail from audit.submission_events where submission_id = %s "
            "order by at, event_id", (submission_id,),
        ).fetchall()
        row_warnings = []
        if sub["kind"] in KINDS:
            row_warnings = cur.execute(
                sql.SQL("select w.rule, count(*) as n, (array_agg(t.source_row_number order by t.source_row_number))[1:{}] "
                        "as rows from {} t cross join lateral unnest(t.row_warnings) as w(rule) "
                        "where t.submission_id = %s group by w.rule order by w.rule").format(
                    sql.Literal(EXAMPLES_PER_RULE), sql.Identifier("raw", KINDS[sub["kind"]].raw_table)),
                (submission_id,),
            ).fetchall()

    # Row rules broken (audit.rejected_rows), grouped by rule.
    failed: OrderedDict[str, dict] = OrderedDict()
    warnings: list[dict] = []
    for p in problems:
        g = failed.setdefault(p["rule"], {
            "rule": p["rule"], "severity": p["severity"], "description": _words(p["rule"]),
            "description_zh": _words(p["rule"], "zh"), "source": "row rules", "problems": 0, "rows": set(), "columns": [], "values": [], "examples": [],
        })
        g["problems"] += 1
        g["rows"].add(p["source_row_number"])
        if p["column_name"] and p["column_name"] not in g["columns"]:
            g["columns"].append(p["column_name"])
        if p["submitted_value"] is not None and p["submitted_value"] not in g["values"]:
            g["values"].append(p["submitted_value"])
        if len(g["examples"]) < EXAMPLES_PER_RULE:
            g["examples"].append({"row": p["source_row_number"], "sheet": p["source_sheet"] or None,
                                  "column": p["column_name"], "value": p["submitted_value"], "message": p["message"]})
    failed_rules = []
    for g in failed.values():
        g["rows"] = len(g["rows"])
        g["what_to_fix"] = what_to_fix(g["rule"], g["columns"], g["values"])
        g["what_to_fix_zh"] = what_to_fix(g["rule"], g["columns"], g["values"], "zh")
        g["values"] = g["values"][:EXAMPLES_PER_RULE]
        (warnings if g["severity"] == "warning" else failed_rules).append(g)

    # Row warnings of accepted rows (raw.<kind>.row_warnings).
    for w in row_warnings:
        warnings.append({
            "rule": w["rule"], "severity": "warning", "description": _words(w["rule"]),
            "description_zh": _words(w["rule"], "zh"), "source": "row rules",
            "rows": w["n"], "examples": [{"row": r} for r in (w["rows"] or [])],
            "what_to_fix": what_to_fix(w["rule"]), "what_to_fix_zh": what_to_fix(w["rule"], lang="zh"),
        })

    # The batch's validation (Great Expectations), every expectation.
    by_run: dict[int, list[dict]] = {}
    for r in results:
        examples = r["unexpected_examples"]
        observed = r["observed_value"]
        try:
            observed = json.loads(observed) if observed is not None else None
        except ValueError:
            pass
        item = {
            "expectation_type": r["expectation_type"], "column": r["column_name"], "rule": r["rule"],
            "severity": r["severity"], "description": r["description"], "success": r["success"],
            "observed_value": observed, "element_count": r["element_count"],
            "unexpected_count": r["unexpected_count"],
            "unexpected_percent": None if r["unexpected_percent"] is None else float(r["unexpected_percent"]),
            "examples": examples if isinstance(examples, list) else ([] if examples is None else [examples]),
        }
        by_run.setdefault(r["validation_run_id"], []).append(item)
        if not r["success"]:
            columns = [r["column_name"]] if r["column_name"] else []
            values = [e for e in item["examples"] if not isinstance(e, dict | list)]
            entry = {
                "rule": r["rule"], "severity": r["severity"], "description": r["description"],
                # the expectation's own words are English; a rule the catalogue knows has its Chinese
                "description_zh": messages.message(r["rule"], "zh") if messages.known(r["rule"]) else None,
                "source": f"validation ({r['expectation_type']})", "rows": r["unexpected_count"],
                "columns": columns,
                "examples": [{"column": r["column_name"], "value": e} for e in item["examples"][:EXAMPLES_PER_RULE]],
                "what_to_fix": what_to_fix(r["rule"], columns, values),
                "what_to_fix_zh": what_to_fix(r["rule"], columns, values, "zh"),
            }
            (warnings if r["severity"] == "warning" else failed_rules).append(entry)
    validation = [{
        "validation_run_id": v["validation_run_id"], "suite_name": v["suite_name"], "run_at": v["run_at"],
        "success": v["success"], "critical_failures": v["critical_failures"], "warnings": v["warnings"],
        "evaluated": v["evaluated"], "rows_checked": v["rows_checked"],
        "results": by_run.get(v["validation_run_id"], []),
    } for v in runs]

    # File- and submission-level outcomes.
    file_rule = _file_rule(sub)
    if file_rule:
        failed_rules.insert(0, {
            "rule": file_rule, "severity": "critical", "description": _words(file_rule),
            "description_zh": _words(file_rule, "zh"), "source": "file",
            "rows": None, "examples": [], "message": sub["status_reason"], "what_to_fix": what_to_fix(file_rule),
            "what_to_fix_zh": what_to_fix(file_rule, lang="zh"),
        })
    for g in (*failed_rules, *warnings):  # the example table's columns: those any example has
        g["example_columns"] = [k for k in ("row", "sheet", "column", "value", "message")
                                if any(e.get(k) not in (None, "") for e in g["examples"])]
    fix = [{"rule": g["rule"], "severity": g["severity"], "advice": g["what_to_fix"], "advice_zh": g["what_to_fix_zh"]}
           for g in failed_rules]
    fix += [{"rule": w["rule"], "severity": "warning", "advice": w["what_to_fix"], "advice_zh": w["what_to_fix_zh"]}
            for w in warnings]
    for status, other in (("duplicate", sub["duplicate_of"]), ("superseded", sub["superseded_by"])):
        if sub["status"] == status:
            fix.append({"rule": status, "severity": "info", "advice": what_to_fix(status, values=[other]),
                        "advice_zh": what_to_fix(status, values=[other], lang="zh")})

    data = {
        "receipt_format": RECEIPT_FORMAT,
        "submission_id": sub["submission_id"],
        "submitter": {"code": sub["submitter_code"], "en": who.get("en"), "zh": who.get("zh"), "type": who.get("type")},
        "kind": sub["kind"],
        "period": sub["period"],
        "channel": sub["channel"],
        "original_name": sub["original_name"],
        "landing_path": sub["landing_path"],
        "sha256": sub["sha256"],
        "bytes": sub["bytes"],
        "file_format": sub["file_format"],
        "encoding": sub["encoding"],
        "received_at": sub["received_at"],
        "status": sub["status"],
        "status_zh": messages.term(sub["status"], "zh"),
        "status_reason": sub["status_reason"],
        "status_changed_at": sub["status_changed_at"],
        "published_at": sub["published_at"],
        "duplicate_of": sub["duplicate_of"],
        "superseded_by": sub["superseded_by"],
        "final": sub["status"] in ledger.TERMINAL,
        "rows": {
            "received": sub["rows_received"], "accepted": sub["rows_loaded"],
            "quarantined": sub["rows_quarantined"], "with_warnings": sub["rows_with_warnings"],
        },
        "failed_rules": failed_rules,
        "warnings": warnings,
        "validation": validation,
        "what_to_fix": fix,
        "history": [dict(e) for e in events],
    }
    data["correction"] = correction_data(conn, submission_id)
    data["intake"] = intake_data(conn, submission_id)
    # One JSON round trip: dates become ISO strings, Decimals strings, so the HTML shows what the JSON says.
    return json.loads(json.dumps(data, ensure_ascii=False, default=jsonable_default))


def correction_data(conn: psycopg.Connection, submission_id: int) -> dict | None:
    """What this submission changed against the submission(s) it replaced (audit.corrections), or None."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "select replaces, published_with, business_key, rows_added, rows_removed, rows_changed, rows_unchanged, "
            "examples from audit.corrections where submission_id = %s order by correction_id desc limit 1",
            (submission_id,),
        ).fetchone()
    if row is None:
        return None
    return {**row, "replaces": sorted(row["replaces"]), "published_with": sorted(row["published_with"])}


# ---------------------------------------------------------------------------------- how the file was read
REASONS_SHOWN = 20


def intake_data(conn: psycopg.Connection, submission_id: int) -> dict:
    """How the file was read (its last load's audit.loads.intake_details: the header mapping applied, the
    columns ignored, the layout rows skipped) and, when rows were quarantined, the first REASONS_SHOWN
    reasons (row, column, value, rule, message, and message_zh: the rule's message in Chinese) and the count
    per rule (with the rule's description and description_zh). `stic ingest` prints the same."""
    with conn.cursor(row_factory=dict_row) as cur:
        load = cur.execute(
            "select intake_details from audit.loads where submission_id = %s order by load_id desc limit 1",
            (submission_id,),
        ).fetchone()
        reasons = cur.execute(
            "select source_row_number as row, nullif(source_sheet, '') as sheet, column_name as column, "
            "submitted_value as value, rule, severity, message from audit.rejected_rows where submission_id = %s "
            "order by source_row_number, rejected_row_id limit %s", (submission_id, REASONS_SHOWN),
        ).fetchall()
        per_rule = cur.execute(
            "select rule, count(distinct (source_sheet, source_row_number)) as rows, count(*) as problems "
            "from audit.rejected_rows where submission_id = %s group by rule order by count(*) desc, rule",
            (submission_id,),
        ).fetchall()
    details = (load or {}).get("intake_details") or {}
    total = sum(r["problems"] for r in per_rule)
    for r in reasons:  # the row's own message is English; beside it the rule's message in Chinese
        r["message_zh"] = _words(r["rule"], "zh")
    for r in per_rule:
        r["description"], r["description_zh"] = _words(r["rule"]), _words(r["rule"], "zh")
    return {
        "header_mapping": details.get("header_mapping") or [],
        "ignored_columns": details.get("ignored_columns") or [],
        "skipped_rows": details.get("skipped_rows") or [],
        "skipped_rows_total": details.get("skipped_rows_total") or len(details.get("skipped_rows") or []),
        "quarantine": {"reasons": reasons, "shown": len(reasons), "total": total, "per_rule": per_rule},
    }


def mapping_line(m: dict) -> str:
    """市财政拨款（万元） → funding_municipal_yuan ×10,000 (one mapped column, as `stic check` prints it)."""
    line = f"{m.get('header')} → {m.get('column')}"
    factor = m.get("factor")
    if factor not in (None, "", "1"):
        line += f" ×{int(factor):,}"
    elif m.get("unit") and factor is None:
        line += f" ({m['unit']})"
    if m.get("via") and m["via"] != "alias":
        line += f"  [{m['via']}]"
    return line


def receipts_dir() -> Path:
    return settings().reports_dir / "receipts"


def receipt_paths(submission_id: int, directory: Path | None = None) -> tuple[Path, Path]:
    d = Path(directory or receipts_dir())
    return d / f"{int(submission_id)}.json", d / f"{int(submission_id)}.html"


def render_html(data: dict) -> str:
    """The receipt's HTML: Chinese first, the English beside it (the JSON keeps the English, plus *_zh fields)."""
    return render("receipt.html.j2", r=data, term=messages.term)


def write_receipt(conn: psycopg.Connection, submission_id: int, directory: Path | None = None,
                  *, related: bool = True) -> tuple[Path, Path] | None:
    """Freeze the receipt of a submission in a terminal status; None while it is still on its way.

    Idempotent: a receipt whose status is unchanged is left as it is. With `related`, the receipts
    of the submissions this one superseded are brought up to date too (their status just changed).
    """
    sub = ledger.get(conn, submission_id)
    if sub["status"] not in ledger.TERMINAL:
        log.info("submission %s is %s: no receipt yet", submission_id, sub["status"])
        return None
    json_path, html_path = receipt_paths(submission_id, directory)
    version = 1
    if not json_path.exists():
        # A crash between moving the old version to history/ and writing the new one: carry the numbering on.
        for old_json in sorted((json_path.parent / "history").glob(f"{submission_id}.v*.json")):
            try:
                old = json.loads(old_json.read_text(encoding="utf-8"))
            except ValueError:
                continue
            if old.get("sha256") == sub["sha256"]:
                version = max(version, int(old.get("receipt_version") or 1) + 1)
    if json_path.exists():
        try:
            old = json.loads(json_path.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
        if old.get("sha256") != sub["sha256"]:
            out = None  # left over from another warehouse (a rebuilt database reuses ids): replace it
        elif old.get("status") == sub["status"] and html_path.exists():
            out = (json_path, html_path)
        else:
            version = int(old.get("receipt_version") or 1) + 1
            hist = json_path.parent / "history"
            hist.mkdir(parents=True, exist_ok=True)
            for p in (json_path, html_path):
                if p.exists():
                    p.replace(hist / f"{submission_id}.v{version - 1}{p.suffix}")
            out = None
    else:
        out = None
    if out is None:
        data = receipt_data(conn, submission_id)
        data["receipt_version"] = version
        data["frozen_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        if version > 1:
            data["previous_versions"] = [f"history/{submission_id}.v{v}.html" for v in range(1, version)]
        # HTML first, JSON last: the JSON's presence with this status is what marks the receipt as written.
        write_atomic(html_path, render_html(data))
        faults.point("receipt.partial")
        write_atomic(json_path, json.dumps(data, ensure_ascii=False, indent=2))
        log.info("receipt v%s of submission %s: %s", version, submission_id, html_path)
        out = (json_path, html_path)
    if related:
        for (other,) in conn.execute(
            "select submission_id from audit.submissions where superseded_by = %s", (submission_id,)
        ).fetchall():
            write_receipt(conn, other, directory, related=False)
    return out


def sync_receipts(conn: psycopg.Connection, directory: Path | None = None) -> list[tuple[Path, Path]]:
    """Write every receipt that is missing or out of date (a backfill; the site build calls it)."""
    out = []
    for (sid,) in conn.execute(
        "select submission_id from audit.submissions where status = any(%s) order by submission_id",
        (list(ledger.TERMINAL),),
    ).fetchall():
        paths = write_receipt(conn, sid, directory, related=False)
        if paths:
            out.append(paths)
    return out


# ---------------------------------------------------------------------------------------------- CLI
def cmd_receipt(args) -> int:
    from stic.warehouse import db

    with db.connect(autocommit=True) as conn:
        db.init_schema(conn)
        paths = write_receipt(conn, args.submission_id)
    if paths is None:
        print(f"submission {args.submission_id} is still being processed: its receipt is written when it finishes")
        return 1
    path = paths[0] if args.format == "json" else paths[1]
    if args.show:
        print(path.read_text(encoding="utf-8"))
    else:
        print(path)
    return 0


def add_cli(subparsers) -> None:
    """Register `stic receipt SUBMISSION_ID [--format html|json] [--show]`."""
    p = subparsers.add_parser("receipt", help="a submission's receipt (written once it is published or rejected)")
    p.add_argument("submission_id", type=int)
    p.add_argument("--format", choices=["html", "json"], default="html", help="which file to name (default html)")
    p.add_argument("--show", action="store_true", help="print the receipt itself instead of its path")
    p.set_defaults(func=cmd_receipt)
