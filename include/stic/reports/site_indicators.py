"""The innovation indicators by year and district for the auditors' site: one heatmap per indicator, the
districts by their Chinese names, and the same numbers in a table.

From marts.rpt_innovation_indicators when built (a district with nothing published for a year is 'no data',
not 0); otherwise the projects alone, counted from raw.projects of published submissions.
"""

from __future__ import annotations

from decimal import Decimal

import psycopg

from stic.contract import codes
from stic.reports import charts
from stic.reports.render import fmt_number
from stic.reports.site_read import query, try_mart

# column of rpt_innovation_indicators -> (title, unit, divisor of the shown value)
INDICATORS = {
    "projects_started": ("R&D projects started", "projects", 1),
    "project_funding_yuan": ("Project funding", "million yuan", 1_000_000),
    "facilities_opened": ("Facilities opened", "facilities", 1),
    "ip_deals": ("IP transactions", "deals", 1),
}
FALLBACK = ("projects_started", "project_funding_yuan")  # what raw.projects alone can tell


def _read(conn: psycopg.Connection) -> tuple[list[dict], list[str], str]:
    cols = ", ".join(INDICATORS)
    rows, why = try_mart(conn, "marts.rpt_innovation_indicators", f"""
        select year_number as year, district_code, is_no_data, {cols}
        from marts.rpt_innovation_indicators
        where year_number in (select year_number from marts.rpt_innovation_indicators where not is_no_data)
        order by 1, 2""")
    if rows is not None:
        return rows, list(INDICATORS), "marts.rpt_innovation_indicators (dbt)"
    rows = query(conn, """
        select extract(year from p.start_date)::int as year, p.district as district_code, false as is_no_data,
               count(*) as projects_started,
               sum(coalesce(p.funding_central_yuan, 0) + coalesce(p.funding_municipal_yuan, 0)
                   + coalesce(p.funding_district_yuan, 0) + coalesce(p.funding_self_raised_yuan, 0))
                   as project_funding_yuan
        from raw.projects p
        join audit.submissions s on s.submission_id = p.submission_id and s.status = 'published'
        where p.start_date is not null and p.district is not null
        group by 1, 2 order by 1, 2""")
    return rows, list(FALLBACK), f"projects of published submissions in raw.projects ({why})"


def indicators(conn: psycopg.Connection) -> dict:
    """{source, years, districts (code, zh, en), charts: one per indicator with its table rows}."""
    rows, shown, source = _read(conn)
    names = codes.entries("district")
    years = sorted({int(r["year"]) for r in rows})
    seen = {r["district_code"] for r in rows}
    order = [c for c in names if c in seen] + sorted(seen - set(names))
    districts = [{"code": c, "zh": names.get(c, {}).get("zh", ""), "en": names.get(c, {}).get("en", c)}
                 for c in order]
    cell = {(r["district_code"], int(r["year"])): r for r in rows}
    out = []
    for col in shown:
        title, unit, div = INDICATORS[col]
        grid: list[list[float | None]] = []
        for d in districts:
            line = []
            for y in years:
                r = cell.get((d["code"], y))
                v = None if r is None or r["is_no_data"] or r[col] is None else Decimal(r[col]) / div
                line.append(None if v is None else float(v))
            grid.append(line)
        chart = None
        if years and districts:
            chart = charts.heatmap(
                [d["zh"] or d["code"] for d in districts], [str(y) for y in years], grid, unit=unit,
                title=f"{title} by district and year",
                desc=f"{title} ({unit}) per district of Shanghai (rows, Chinese names) and year (columns); "
                     "grey cells: the district published nothing for that year.",
                cell_titles=[[f"{d['zh']} {d['en']} · {y}: "
                              + ("no data" if v is None else f"{fmt_number(v)} {unit}")
                              for y, v in zip(years, line, strict=True)] for d, line in zip(districts, grid, strict=True)],
            )
        out.append({"code": col, "title": title, "unit": unit, "chart": chart,
                    "rows": [{**d, "values": line, "total": None if all(v is None for v in line) else sum(v for v in line if v is not None)}
                             for d, line in zip(districts, grid, strict=True)]})
    return {"source": source, "years": years, "districts": districts, "charts": out}
