"""The warehouse at a glance: what was received, published, rejected; rows; validation; where the reports are."""

from __future__ import annotations

from psycopg import sql

from stic.config import settings
from stic.contract.kinds import KINDS
from stic.warehouse import db


def _table_exists(conn, schema: str, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"{schema}.{table}",)).fetchone()[0]


# Each findings report and how its rows are grouped: rule and finding code (with severity).
FINDING_REPORTS = ("rpt_platform_funding_findings", "rpt_award_share_findings", "rpt_period_consistency")


def _findings(conn) -> list[dict]:
    """How many findings each rule produced in the last build, report by report."""
    out = []
    for table in FINDING_REPORTS:
        if not _table_exists(conn, "marts", table):
            continue
        for rule, finding, severity, n in conn.execute(
            sql.SQL("select rule_code, finding_code, severity, count(*) from {} group by 1, 2, 3 order by 1, 2").format(
                sql.Identifier("marts", table))
        ):
            out.append({"report": table, "rule": rule, "finding": finding, "severity": severity, "count": n})
    return out


def collect(url: str | None = None) -> dict:
    with db.connect(url, autocommit=True) as conn:
        db.init_schema(conn)
        by_status = dict(conn.execute("select status, count(*) from audit.submissions group by status").fetchall())
        rows = conn.execute(
            "select coalesce(sum(rows_received), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0), "
            "coalesce(sum(rows_with_warnings), 0) from audit.submissions where status not in ('duplicate')"
        ).fetchone()
        raw_rows = {k: conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("raw", k))).fetchone()[0]
                    for k in KINDS}
        # Batches: one run per submission. Marts: the latest run of each suite (the last build's outcome).
        vals = conn.execute(
            "with latest as (select distinct on (suite_name) * from audit.validation_runs where target = 'build' "
            "order by suite_name, run_at desc, validation_run_id desc), "
            "runs as (select * from audit.validation_runs where target = 'load' union all select * from latest) "
            "select target, count(*), count(*) filter (where success), coalesce(sum(warnings), 0) from runs group by target"
        ).fetchall()
        figures = []
        if _table_exists(conn, "marts", "rpt_control_totals"):
            figures = conn.execute(
                "select figure_code, comparison, published_value, warehouse_value, status "
                "from marts.rpt_control_totals order by figure_code").fetchall()
        findings = _findings(conn)
        marts = {}
        for (table,) in conn.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ):
            marts[table] = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("marts", table))).fetchone()[0]
    s = settings()
    from stic.quality.gx import data_docs_index

    reports = {
        "data_docs": str(data_docs_index()) if data_docs_index().exists() else None,
        "reports_dir": str(s.reports_dir),
        "archive": str(s.archive_dir),
    }
    for name, rel in (("receipts", "receipts"), ("auditors_site", "site/index.html"), ("dbt_docs", "dbt-docs/index.html")):
        p = s.reports_dir / rel
        reports[name] = str(p) if p.exists() else None
    return {
        "submissions": {
            "received": sum(by_status.values()),
            **{k: by_status.get(k, 0) for k in ("published", "rejected", "duplicate", "superseded")},
            "in_progress": sum(by_status.get(k, 0) for k in ("received", "parsed", "validated")),
        },
        "rows": {"received": rows[0], "loaded": rows[1], "quarantined": rows[2], "with_warnings": rows[3]},
        "raw_rows": raw_rows,
        "validation": {t: {"runs": n, "passed": ok, "failed": n - ok, "warnings": w} for t, n, ok, w in vals},
        "marts": marts,
        "control_figures": [dict(zip(("figure", "comparison", "published", "warehouse", "status"), r, strict=True))
                            for r in figures],
        "findings": findings,
        "reports": reports,
        "warehouse": db.redact(url or db.warehouse_url()),
    }


def render(summary: dict, new: dict | None = None) -> str:
    from io import StringIO

    from rich.console import Console
    from rich.table import Table

    out = StringIO()
    console = Console(file=out, width=100, force_terminal=False, color_system=None)
    sub = summary["submissions"]
    t = Table(title="STIC warehouse — summary", show_header=True, header_style="bold")
    t.add_column("what")
    t.add_column("count", justify="right")
    for k in ("received", "published", "rejected", "duplicate", "superseded", "in_progress"):
        t.add_row(f"submissions {k.replace('_', ' ')}", f"{sub[k]:,}")
    r = summary["rows"]
    t.add_row("rows received", f"{r['received']:,}")
    t.add_row("rows loaded into raw", f"{r['loaded']:,}")
    t.add_row("rows quarantined (audit.rejected_rows)", f"{r['quarantined']:,}")
    t.add_row("rows loaded with warnings", f"{r['with_warnings']:,}")
    for target, v in sorted(summary["validation"].items()):
        t.add_row("validation of batches (one run each)" if target == "load" else "validation of marts (last build)",
                  f"{v['passed']:,} passed / {v['failed']:,} failed ({v['warnings']:,} warnings)")
    for table, n in summary["marts"].items():
        t.add_row(f"marts.{table}", f"{n:,}")
    console.print(t)
    if summary.get("control_figures"):
        f = Table(title="Published figures (marts.rpt_control_totals)", show_header=True, header_style="bold")
        for col, justify in (("figure", "left"), ("comparison", "left"), ("published", "right"),
                             ("warehouse", "right"), ("status", "left")):
            f.add_column(col, justify=justify)
        for r in summary["control_figures"]:
            f.add_row(r["figure"], r["comparison"], f"{r['published']:,.0f}",
                      "—" if r["warehouse"] is None else f"{r['warehouse']:,.0f}", r["status"])
        console.print(f)
        by_status: dict[str, int] = {}
        for r in summary["control_figures"]:
            by_status[r["status"]] = by_status.get(r["status"], 0) + 1
        console.print("Figures: " + ", ".join(f"{n} {st}" for st, n in sorted(by_status.items())))
    if "findings" in summary:
        f = Table(title="Findings per rule (what auditors should look at)", show_header=True, header_style="bold")
        for col in ("report", "rule", "finding", "severity"):
            f.add_column(col)
        f.add_column("count", justify="right")
        for r in summary["findings"]:
            f.add_row(r["report"], r["rule"], r["finding"], r["severity"], f"{r['count']:,}")
        if not summary["findings"]:
            f.add_row("—", "—", "no findings", "", "0")
        console.print(f)
    if new is not None:
        console.print(f"This run: {new['submissions']:,} new submission(s), {new['rows']:,} new row(s) loaded.")
    console.print(f"Warehouse: {summary['warehouse']}")
    for name, path in summary["reports"].items():
        if path:
            console.print(f"{name.replace('_', ' ').capitalize()}: {path}")
    return out.getvalue()
