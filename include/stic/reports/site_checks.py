"""What auditors look for first: published figures the warehouse is off from, rule findings, overdue and
rejected submissions; and the drill-down of each figure to the rows that make it up.

Each function reads one mart (or the ledger) and returns what the site's template shows; a mart that is
not built yet gives a note instead of rows (stic.reports.site_read.try_mart).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import psycopg

from stic.contract import codes
from stic.reports.site_read import slug, try_mart

FIGURES_DIR = "figures"  # one drill-down page per figure, beside index.html
STATUS_ORDER = {"off": 0}  # figures the warehouse disagrees with come first; the rest keep figure order
SEVERITY_ORDER = {"finding": 0, "warning": 1, "info": 2}
OVERDUE_STATES = ("missing", "late")


def figure_page(figure_code: str) -> str:
    """The drill-down page of a figure, relative to index.html."""
    return f"{FIGURES_DIR}/{slug(figure_code)}.html"


# ----------------------------------------------------------------------------------- reconciliation
def reconciliation(conn: psycopg.Connection) -> dict:
    """The published figures against the warehouse, those off first; each with its drill-down page."""
    rows, why = try_mart(conn, "marts.rpt_control_totals", """
        select * from marts.rpt_control_totals order by figure_code""")
    if rows is None:
        return {"built": False, "note": why, "rows": [], "counts": {}, "off": None}
    rows.sort(key=lambda r: STATUS_ORDER.get(r["status"], 1))  # stable: figure_code order within each group
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["status"] or "unknown"] += 1
        r["page"] = figure_page(r["figure_code"])
    ordered = dict(sorted(counts.items(), key=lambda kv: (STATUS_ORDER.get(kv[0], 1), kv[0])))
    return {"built": True, "note": None, "rows": rows, "counts": ordered, "off": counts.get("off", 0)}


def figure_rows(conn: psycopg.Connection) -> tuple[dict[str, list[dict]], str | None]:
    """figure_code -> the published rows counted in it (marts.rpt_control_total_rows), or a note why none."""
    rows, why = try_mart(conn, "marts.rpt_control_total_rows", """
        select figure_code, source_kind, business_key, submitter_code, submission_id, counted_date, counted_value
        from marts.rpt_control_total_rows order by figure_code, counted_date nulls last, business_key""")
    by_figure: dict[str, list[dict]] = defaultdict(list)
    for r in rows or ():
        by_figure[r["figure_code"]].append(r)
    return by_figure, why


def figure_pages(conn: psycopg.Connection, recon: dict, out_dir: Path) -> list[dict]:
    """The context of each figure's drill-down page: the figure, its rows (linked to receipts) and their sum."""
    if not recon["built"]:
        return []
    by_figure, why = figure_rows(conn)
    who = codes.submitters()
    pages = []
    for fig in recon["rows"]:
        rows = by_figure.get(fig["figure_code"], [])
        for r in rows:
            w = who.get(r["submitter_code"], {})
            r["submitter_en"], r["submitter_zh"] = w.get("en", ""), w.get("zh", "")
            sid = r["submission_id"]
            r["receipt"] = (f"../receipts/{sid}.html"
                            if sid is not None and (out_dir / "receipts" / f"{sid}.html").exists() else None)
        per: dict[str, dict] = {}
        for r in rows:
            p = per.setdefault(r["submitter_code"], {"code": r["submitter_code"], "zh": r["submitter_zh"],
                                                     "en": r["submitter_en"], "rows": 0, "total": Decimal(0)})
            p["rows"] += 1
            p["total"] += Decimal(r["counted_value"] or 0)
        pages.append({"figure": fig, "rows": rows, "note": why, "path": fig["page"],
                      "by_submitter": sorted(per.values(), key=lambda p: (-p["total"], p["code"])),
                      "total": sum((p["total"] for p in per.values()), Decimal(0))})
    return pages


# ---------------------------------------------------------------------------------------- findings
FINDING_MARTS = {  # mart -> the query of its rows as (rule, finding, severity, subject, year, detail, words)
    "marts.rpt_platform_funding_findings": """
        select rule_code, finding_code, severity, platform_code as subject, assessment_year::text as year,
               finding_detail as detail, guideline_text from marts.rpt_platform_funding_findings""",
    "marts.rpt_award_share_findings": """
        select rule_code, finding_code, severity, transaction_code as subject, extract(year from deal_date)::text as year,
               seller_name || ' (' || seller_type || ', ' || transaction_type || ') awarded '
               || round(inventor_award_share * 100, 1)::text || ' percent of net revenue ' || net_revenue_yuan::text
               || ' yuan: ' || award_yuan::text || ' yuan, below the floor of ' || floor_award_yuan::text || ' yuan'
               as detail, guideline_text from marts.rpt_award_share_findings""",
    "marts.rpt_period_consistency": """
        select rule_code, finding_code, severity, submission_kind || ' ' || business_key as subject,
               reporting_period as year, finding_detail as detail, guideline_text from marts.rpt_period_consistency""",
}


def findings(conn: psycopg.Connection) -> dict:
    """The rule findings for auditors, each with the guideline's words; the count per rule, which links
    (by `anchor`) to that rule's rows in the findings table (`groups`: the rows, one group per count)."""
    rows, notes, read = [], [], 0
    for relation, q in FINDING_MARTS.items():
        got, why = try_mart(conn, relation, q + " order by 1, 2, 4, 5")
        if got is None:
            notes.append(why)
            continue
        read += 1
        rows += got
    rows.sort(key=lambda r: (SEVERITY_ORDER.get(r["severity"], 9), r["rule_code"], r["finding_code"], r["subject"]))
    groups: dict[tuple, dict] = {}
    for r in rows:
        key = (r["rule_code"], r["finding_code"], r["severity"])
        if key not in groups:
            groups[key] = {"rule": key[0], "finding": key[1], "severity": key[2], "words": r["guideline_text"],
                           "anchor": slug("finding", *key), "rows": []}
        groups[key]["rows"].append(r)
    by_rule = [{**{k: g[k] for k in ("rule", "finding", "severity", "words", "anchor")}, "count": len(g["rows"])}
               for g in groups.values()]
    return {"built": not notes, "notes": notes, "rows": rows, "groups": list(groups.values()), "by_rule": by_rule,
            "count": len(rows) if read else None}


# ----------------------------------------------------------------------------------------- overdue
def overdue(conn: psycopg.Connection, out_dir: Path) -> dict:
    """Submissions past their due date and grace days (marts.rpt_submission_calendar): still missing, or
    received late; the missing first, longest overdue first."""
    rows, why = try_mart(conn, "marts.rpt_submission_calendar", """
        select submitter_code, submission_kind, reporting_period, calendar_state, days_late, due_date,
               late_after_date, grace_days, satisfied_by_submission_id, satisfied_received_at,
               submissions_received, submissions_rejected, as_of_date
        from marts.rpt_submission_calendar where calendar_state = any(%s)
        order by calendar_state = 'missing' desc, days_late desc, submitter_code, submission_kind,
                 reporting_period""", (list(OVERDUE_STATES),))
    if rows is None:
        return {"built": False, "note": why, "rows": [], "as_of": None, "counts": {}}
    who = codes.submitters()
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        w = who.get(r["submitter_code"], {})
        r["submitter_en"], r["submitter_zh"] = w.get("en", ""), w.get("zh", "")
        sid = r["satisfied_by_submission_id"]
        r["receipt"] = (f"receipts/{sid}.html"
                        if sid is not None and (out_dir / "receipts" / f"{sid}.html").exists() else None)
        counts[r["calendar_state"]] += 1
    as_of = rows[0]["as_of_date"] if rows else None
    return {"built": True, "note": None, "rows": rows, "as_of": as_of,
            "counts": {s: counts.get(s, 0) for s in OVERDUE_STATES}}


# ---------------------------------------------------------------------------------------- rejected
def rejected(ledger: list[dict]) -> list[dict]:
    """The rejected submissions of the ledger (audit.submissions), newest first, with reason and receipt."""
    return [r for r in ledger if r["status"] == "rejected"]


def summary(recon: dict, found: dict, late: dict, refused: list[dict]) -> list[dict]:
    """The bar at the top of the first page: one count per concern (None when its mart is not built), each
    linking to its section."""
    return [
        {"label": "figures off", "count": recon["off"], "href": "#reconciliation", "id": "summary-off"},
        {"label": "findings", "count": found["count"], "href": "#findings", "id": "summary-findings"},
        {"label": "overdue submissions", "count": len(late["rows"]) if late["built"] else None,
         "href": "#overdue", "id": "summary-overdue"},
        {"label": "rejected submissions", "count": len(refused), "href": "#rejected", "id": "summary-rejected"},
    ]
