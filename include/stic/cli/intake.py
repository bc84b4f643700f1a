"""`stic check` and `stic ingest`: a submission file through the intake, dry or for real."""

from __future__ import annotations

import sys
from pathlib import Path

from stic.cli.output import print_json
from stic.contract import messages


def _zh(rule: str | None) -> str:
    """The rule's meaning in Chinese (the message catalogue), shown to submitters before the English detail."""
    return messages.message(rule, "zh", strict=False) if rule else ""


def _problem_lines(outcome) -> list[str]:
    lines = []
    for p in outcome.problems:
        where = f"row {p['row']}" + (f" (sheet {p['sheet']})" if p.get("sheet") else "")
        lines.append(f"  {where}, column {p['column']}: {_zh(p['rule'])} · {p['message']} [{p['rule']}]")
    return lines


def _rejected_lines(text: str, rule: str | None) -> list[str]:
    """A rejection for the submitter: the reason (English detail, Chinese meaning) and what to fix, both languages."""
    lines = [f"REJECTED {text}"]
    if rule:
        lines.append(f"  {_zh(rule)} [{rule}]")
        lines.append(f"  what to fix / 如何修改: {messages.bilingual(rule, 'advice')}")
    return lines


def cmd_check(args) -> int:
    from stic.contract.kinds import SubmissionRuleError, check_submission
    from stic.load import check_file

    path = Path(args.file)
    try:
        check_submission(args.submitter, args.kind, args.period)
    except SubmissionRuleError as e:
        if args.json:
            print_json({"file": str(path), "accepted": False, "rejected": str(e), "rule": "submission_rule",
                        "rejected_zh": _zh("submission_rule")})
        else:
            print("\n".join(_rejected_lines(f"{path.name}: {e}", "submission_rule")))
        return 1
    if not path.is_file():
        print(f"error: {path} is not a file", file=sys.stderr)
        return 2
    outcome = check_file(path, args.kind, submitter=args.submitter, period=args.period)
    result = {
        "file": str(path), "accepted": outcome.would_publish, "rejected": outcome.rejected,
        "rule": outcome.rejected_rule, "rejected_zh": _zh(outcome.rejected_rule) or None, "format": outcome.format, "encoding": outcome.encoding,
        "rows_received": outcome.rows_received, "rows_accepted": outcome.rows_loaded,
        "rows_quarantined": outcome.rows_quarantined, "rows_with_warnings": outcome.rows_with_warnings,
        "problems": [{k: v for k, v in p.items() if k != "row_data"} for p in outcome.problems],
        "warnings": list(outcome.warnings), "notes": outcome.notes,
        "header_mapping": outcome.header_mapping, "ignored_columns": outcome.ignored_columns,
        "skipped_rows": outcome.skipped_rows,
    }
    if args.json:
        print_json(result)
    else:
        if outcome.rejected:
            print("\n".join(_rejected_lines(outcome.rejected, outcome.rejected_rule)))
        else:
            print(f"OK {path.name}: {outcome.rows_loaded:,} rows would be accepted, "
                  f"{outcome.rows_quarantined:,} quarantined, {outcome.rows_with_warnings:,} with warnings "
                  f"({outcome.format}, {outcome.encoding or 'n/a'})")
        for line in _problem_lines(outcome):
            print(line)
        for w in outcome.warnings:
            print(f"  row {w['row']}: warning: {_zh(w['rule'])} · {w['message']} [{w['rule']}]")
        for n in outcome.notes:
            print(f"  note: {n}")
        for line in _intake_lines(outcome.header_mapping, outcome.ignored_columns, outcome.skipped_rows,
                                  rejected=bool(outcome.rejected)):
            print(line)
    return 1 if outcome.rejected else 0


def _intake_lines(mapping: list[dict], ignored: list[str], skipped: list[dict], skipped_total: int | None = None,
                  rejected: bool = False) -> list[str]:
    """How the file was read, column by column: 市财政拨款（万元） → funding_municipal_yuan ×10,000."""
    from stic.reports.receipts import mapping_line

    lines = ["  columns read:"] if mapping else []
    lines += [f"    {mapping_line(m)}" for m in mapping]
    if ignored:
        # A file rejected before its columns were checked for amounts (a required column missing) may hold
        # amounts in a column it did not read: say only that it was not read.
        what = "columns not read (nothing was loaded)" if rejected else "columns ignored (no amounts in them)"
        lines.append(f"  {what}: {', '.join(ignored)}")
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
        print_json([o.as_dict() for o in run.outcomes])
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
    print_json({**out.as_dict(), **_ingest_intake(out.submission_id)})
    return 1 if out.status == "rejected" else 0


def _ingest_intake(submission_id: int) -> dict:
    """What `stic ingest` adds to the outcome: the header mapping, the ignored columns, the skipped layout
    rows, and for quarantined rows the first reasons and the count per rule (as the receipt shows them)."""
    from stic.reports.receipts import intake_data
    from stic.warehouse import db

    with db.connect(autocommit=True) as conn:
        return intake_data(conn, submission_id)


def add_check_and_ingest(sub) -> None:
    """`stic check` (a dry run) and `stic ingest` take the same file and submission arguments."""
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
