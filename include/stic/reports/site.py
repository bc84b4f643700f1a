"""The auditors' site: a static HTML report of the whole warehouse, readable from disk or any web server.

`build_site(out_dir)` writes out_dir/index.html, which leads with what auditors look for: a summary bar
(figures off, findings, overdue and rejected submissions), then reconciliation with the published figures
(those off first), findings by rule, overdue and rejected submissions; then the ledger with filters, the
completeness matrix, validation pass rates, funding by source, the innovation indicators by district and
year, and links. Every number links to its rows: a figure to out_dir/figures/<figure_code>.html (the rows
it adds up), a finding count to its rows in the findings table, a submission to its receipt under
out_dir/receipts/. Content needs no JavaScript; a few lines of inline JS make the ledger filterable.
Charts are inline SVG (stic.reports.charts) with a data table beside them.

It reads the dbt marts when they exist and otherwise computes from the audit and raw tables, or says what
is not built yet: a half-built warehouse still gets a site.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg

from stic.config import settings
from stic.contract import codes
from stic.contract.kinds import KINDS, allowed_kinds
from stic.reports import charts, receipts, site_checks, site_indicators
from stic.reports.render import render, write_atomic
from stic.reports.site_checks import FINDING_MARTS, SEVERITY_ORDER, findings, reconciliation  # noqa: F401
from stic.reports.site_read import exists as _exists  # noqa: F401
from stic.reports.site_read import query as _query
from stic.reports.site_read import try_mart as _try_mart
from stic.warehouse import db

log = logging.getLogger(__name__)

STATUSES = ("published", "rejected", "duplicate", "superseded", "received", "parsed", "validated")
FUNDING_SOURCES = {"central": "Central", "municipal": "Municipal", "district": "District", "self_raised": "Self-raised"}
CELL = {  # completeness status -> (symbol, words)
    "published": ("✓", "published"),
    "missing": ("✗", "missing: not submitted"),
    "not_published": ("!", "received, nothing published (rejected or duplicate)"),
    "in_progress": ("…", "received, still being processed"),
    "nil_declared": ("∅", "declared nothing to report"),
    "not_due": ("·", "not due yet"),
    "not_expected": ("", "not expected"),
}


# ------------------------------------------------------------------------------------------- ledger
def ledger_rows(conn: psycopg.Connection) -> list[dict]:
    who = codes.submitters()
    rows = _query(conn, """
        select submission_id, submitter_code, kind, period, channel, original_name, received_at, status,
               status_reason, rows_received, rows_loaded, rows_quarantined, rows_with_warnings, sha256
        from audit.submissions order by submission_id desc""")
    for r in rows:
        w = who.get(r["submitter_code"], {})
        r["submitter_en"], r["submitter_zh"] = w.get("en", ""), w.get("zh", "")
    return rows


# ------------------------------------------------------------------------------------- completeness
def completeness(conn: psycopg.Connection) -> dict:
    """submitter x kind x year -> status; from marts.rpt_submission_completeness when built, else computed."""
    mart, why = _try_mart(conn, "marts.rpt_submission_completeness", """
        select submitter_code, submission_kind as kind, reporting_year as year, is_expected,
               completeness_status as status, submissions_received as received
        from marts.rpt_submission_completeness""")
    cells: dict[tuple[str, str, int], dict] = {}
    if mart is not None:
        source = "marts.rpt_submission_completeness (dbt)"
        for r in mart:
            cells[(r["submitter_code"], r["kind"], int(r["year"]))] = {
                "status": r["status"] if (r["is_expected"] or r["received"]) else "not_expected",
                "received": r["received"], "expected": bool(r["is_expected"])}
    else:
        source = "computed from audit.submissions (" + (why or "") + ")"
        got = _query(conn, """
            select submitter_code, kind, left(period, 4)::int as year, count(*) as received,
                   count(*) filter (where status = 'published') as published,
                   count(*) filter (where status in ('received', 'parsed', 'validated')) as in_progress
            from audit.submissions where period ~ '^[0-9]{4}' group by 1, 2, 3""")
        years = [r["year"] for r in got]
        span = range(min(years), max(years) + 1) if years else range(0)
        for code in codes.submitters():
            for kind in allowed_kinds(code):
                for y in span:
                    cells[(code, kind, y)] = {"status": "missing", "received": 0, "expected": True}
        for r in got:
            key = (r["submitter_code"], r["kind"], r["year"])
            status = ("published" if r["published"] else "in_progress" if r["in_progress"] else "not_published")
            cells[key] = {"status": status, "received": r["received"], "expected": key in cells}
    who = codes.submitters()
    order = {c: i for i, c in enumerate(who)}
    submitters = sorted({k[0] for k in cells}, key=lambda c: (order.get(c, 10**6), c))
    kinds = [k for k in KINDS if any(c[1] == k for c in cells)] + sorted({c[1] for c in cells} - set(KINDS))
    years = sorted({k[2] for k in cells})
    rows = []
    for s in submitters:
        row_cells = []
        for k in kinds:
            for y in years:
                c = cells.get((s, k, y), {"status": "not_expected", "received": 0, "expected": False})
                sym, words = CELL.get(c["status"], ("?", c["status"]))
                row_cells.append({**c, "kind": k, "year": y, "symbol": sym,
                                  "title": f"{s} {k} {y}: {words} ({c['received']} received)"})
        w = who.get(s, {})
        rows.append({"code": s, "en": w.get("en", ""), "zh": w.get("zh", ""), "cells": row_cells,
                     "missing": sum(1 for c in row_cells if c["status"] == "missing")})
    counts = defaultdict(int)
    for c in cells.values():
        counts[c["status"]] += 1
    return {"source": source, "kinds": kinds, "years": years, "rows": rows, "counts": dict(counts),
            "legend": [(k, *v) for k, v in CELL.items()]}


# ------------------------------------------------------------------------------------- validation
def validation_rates(conn: psycopg.Connection) -> dict:
    span = conn.execute("select min(run_at), max(run_at) from audit.validation_runs").fetchone()
    if span[0] is None:
        return {"rows": [], "chart": None, "grain": None}
    grain = "day" if (span[1] - span[0]).days <= 62 else "month"
    fmt = "YYYY-MM-DD" if grain == "day" else "YYYY-MM"
    rows = _query(conn, f"""
        select to_char(date_trunc('{grain}', run_at), '{fmt}') as bucket,
               count(*) as runs, count(*) filter (where success) as passed,
               count(*) filter (where target = 'load') as load_runs,
               count(*) filter (where target = 'load' and success) as load_passed,
               count(*) filter (where target = 'build') as build_runs,
               count(*) filter (where target = 'build' and success) as build_passed,
               coalesce(sum(warnings), 0) as warnings
        from audit.validation_runs group by 1 order by 1""")
    for r in rows:
        r["rate"] = round(100.0 * r["passed"] / r["runs"], 1) if r["runs"] else 0.0
    chart = charts.bar_chart(
        [r["bucket"] for r in rows], [r["rate"] for r in rows], ymax=100, unit="% passed",
        title=f"Validation pass rate by {grain}",
        desc="Share of validation runs (submission batches and mart builds) that passed, per " + grain + ".",
        bar_titles=[f"{r['bucket']}: {r['rate']}% passed ({r['passed']} of {r['runs']} runs)" for r in rows],
    )
    return {"rows": rows, "chart": chart, "grain": grain}


# ----------------------------------------------------------------------------------------- funding
def funding(conn: psycopg.Connection) -> dict:
    mart, why = _try_mart(conn, "marts.fct_project_funding", """
        select extract(year from start_date)::int as year, funding_source as source, sum(amount_yuan) as amount
        from marts.fct_project_funding where start_date is not null group by 1, 2 order by 1, 2""")
    if mart is not None:
        rows, source = mart, "marts.fct_project_funding (dbt)"
    else:
        rows = _query(conn, """
            select extract(year from p.start_date)::int as year, f.source, sum(f.amount) as amount
            from raw.projects p
            join audit.submissions s on s.submission_id = p.submission_id and s.status = 'published'
            cross join lateral (values ('central', p.funding_central_yuan), ('municipal', p.funding_municipal_yuan),
                                       ('district', p.funding_district_yuan),
                                       ('self_raised', p.funding_self_raised_yuan)) as f (source, amount)
            where p.start_date is not null and f.amount is not null group by 1, 2 order by 1, 2""")
        source = f"raw.projects of published submissions ({why})"
    years = sorted({r["year"] for r in rows})
    sources = list(FUNDING_SOURCES) + sorted({r["source"] for r in rows} - set(FUNDING_SOURCES))
    table = {y: {s: Decimal(0) for s in sources} for y in years}
    for r in rows:
        table[r["year"]][r["source"]] += Decimal(r["amount"] or 0)
    lines = [{"year": y, "by_source": [table[y][s] for s in sources], "total": sum(table[y].values())} for y in years]
    chart = None
    if years:
        chart = charts.stacked_bar_chart(
            [str(y) for y in years],
            {s: [float(table[y][s]) / 1e6 for y in years] for s in sources},
            labels={s: FUNDING_SOURCES.get(s, s) for s in sources}, unit="million yuan",
            title="Project funding by source and start year",
            desc="Funding of R&D projects in million yuan, stacked by source (central, municipal, district, "
                 "self-raised), per year the projects started.",
        )
    return {"source": source, "sources": [(s, FUNDING_SOURCES.get(s, s)) for s in sources], "rows": lines,
            "chart": chart}


# ------------------------------------------------------------------------------------------- build
def _rel(target: Path, start: Path) -> str:
    return Path(os.path.relpath(target, start)).as_posix()


def links(out_dir: Path) -> list[dict]:
    from stic.quality.gx import data_docs_index

    out = []
    for name, path, what in (
        ("Great Expectations Data Docs", data_docs_index(), "every validation run, expectation by expectation"),
        ("dbt docs", settings().reports_dir / "dbt-docs" / "index.html", "the marts: models, columns, tests, lineage"),
    ):
        out.append({"name": name, "what": what, "href": _rel(path, out_dir) if path.exists() else None})
    return out


def site_data(conn: psycopg.Connection, out_dir: Path) -> dict:
    ledger = ledger_rows(conn)
    for r in ledger:
        r["receipt"] = (f"receipts/{r['submission_id']}.html"
                        if (out_dir / "receipts" / f"{r['submission_id']}.html").exists() else None)
    by_status = defaultdict(int)
    for r in ledger:
        by_status[r["status"]] += 1
    recon, found = reconciliation(conn), findings(conn)
    late, refused = site_checks.overdue(conn, out_dir), site_checks.rejected(ledger)
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "summary": site_checks.summary(recon, found, late, refused),
        "reconciliation": recon,
        "findings": found,
        "overdue": late,
        "rejected": refused,
        "ledger": ledger,
        "by_status": dict(by_status),
        "rows_total": {k: sum(r[k] or 0 for r in ledger if r["status"] != "duplicate")
                       for k in ("rows_received", "rows_loaded", "rows_quarantined", "rows_with_warnings")},
        "filters": {
            "submitter": sorted({r["submitter_code"] for r in ledger}),
            "kind": sorted({r["kind"] for r in ledger}),
            "period": sorted({r["period"] for r in ledger}),
            "status": [s for s in STATUSES if s in by_status],
        },
        "submitter_names": {c: f"{c} {w.get('en', '')} {w.get('zh', '')}".strip() for c, w in codes.submitters().items()},
        "completeness": completeness(conn),
        "validation": validation_rates(conn),
        "funding": funding(conn),
        "indicators": site_indicators.indicators(conn),
        "links": links(out_dir),
    }


def _copy_receipts(src: Path, dest: Path) -> None:
    if not src.exists() or src.resolve() == dest.resolve():
        return
    shutil.copytree(src, dest, dirs_exist_ok=True)


def _write_figure_pages(out_dir: Path, pages: list[dict], generated_at: str) -> None:
    """One drill-down page per figure under out_dir/figures/; pages of figures no longer listed are removed."""
    folder = out_dir / site_checks.FIGURES_DIR
    written = set()
    for page in pages:
        written.add(write_atomic(out_dir / page["path"], render("figure.html.j2", p=page, generated_at=generated_at)))
    for stale in folder.glob("*.html") if folder.exists() else ():
        if stale not in written:
            stale.unlink(missing_ok=True)


def build_site(out_dir: Path | str | None = None, url: str | None = None) -> Path:
    """Write the auditors' site into out_dir (default reports/site) and return its index.html."""
    out_dir = Path(out_dir or settings().reports_dir / "site").resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with db.connect(url, autocommit=True) as conn:
        db.init_schema(conn)
        receipts.sync_receipts(conn)  # receipts of every finished submission, frozen, in reports/receipts
        _copy_receipts(receipts.receipts_dir(), out_dir / "receipts")
        data = site_data(conn, out_dir)
        figures = site_checks.figure_pages(conn, data["reconciliation"], out_dir)
    _write_figure_pages(out_dir, figures, data["generated_at"])
    index = write_atomic(out_dir / "index.html", render("site.html.j2", s=data))
    log.info("auditors' site: %s", index)
    return index


# --------------------------------------------------------------------------------------------- CLI
def cmd_report(args) -> int:
    print(build_site(Path(args.out) if args.out else None))
    return 0


def add_cli(subparsers) -> None:
    """Register `stic report [--out DIR]`."""
    p = subparsers.add_parser("report", help="build the auditors' static site (ledger, completeness, reconciliation)")
    p.add_argument("--out", default=None, help="folder to write (default: reports/site)")
    p.set_defaults(func=cmd_report)
