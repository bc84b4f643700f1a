"""The projects files: districts by start year (some quarterly) and the municipal submitters."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from .common import DISTRICTS, FIELDS, YEARS, FileSpec, n_of, target
from .rows import (
    DISTRICT_WEIGHTS,
    INSTITUTIONS,
    MUNICIPAL_MAJOR_TITLES,
    _date,
    _money,
    _period_end,
    _quarter,
    _rotate,
    _weighted,
    _with_invalid,
    split_total,
    spoil,
)

# -------------------------------------------------------------------------------------------- projects

def build_projects(seed: int, scale: float, share: float) -> list[FileSpec]:
    """Projects at scale 1: 854 national major projects, the 73 first-round Zhangjiang projects (32
    completed), and municipal and district projects besides (districts), plus agencies' municipal projects."""
    rng = random.Random(f"{seed}:projects")
    rows: list[dict] = []
    counter = iter(range(1, 10**7))

    def code(row: dict) -> str:
        return f"P{row['start_date'].year}{row['district']}{next(counter):05d}"

    def add(level, programme, district, year, status, title, submitter=None):
        itype = rng.choice(list(INSTITUTIONS))
        start = _date(rng, year, dt.date(2019, 4, 30))
        end = start + dt.timedelta(days=rng.randint(365, 5 * 365))
        if status == "completed":
            end = max(min(end, dt.date(2019, 3, 31)), start + dt.timedelta(days=180))
        big = level in ("national_major", "municipal_major")
        row = {
            "title": title, "level": level, "programme": programme,
            "field": rng.choice(FIELDS[:10]) if big else rng.choice(FIELDS),
            "lead_institution": rng.choice(INSTITUTIONS[itype]), "institution_type": itype,
            "district": district, "start_date": start, "end_date": end if status != "planned" or rng.random() < 0.5 else None,
            "status": status,
            "funding_central_yuan": _money(rng, 500, 20000) if level.startswith("national") else None,
            "funding_municipal_yuan": _money(rng, 100, 5000) if level != "district" else None,
            "funding_district_yuan": _money(rng, 20, 800) if rng.random() < 0.6 else None,
            "funding_self_raised_yuan": _money(rng, 0, 3000),
            "_submitter": submitter or district,
        }
        row = {"project_code": code(row), **row}
        rows.append(row)

    heavy = ["PD", "XH", "YP", "MH", "JD"]
    n_science = n_of(11, scale)  # "participated in 11 of the 50 major national scientific projects" (2014-2018)
    science = 0
    for i in range(n_of(854, scale)):
        year = YEARS[i % len(YEARS)]
        district = heavy[i % len(heavy)] if i % 3 else DISTRICTS[i % len(DISTRICTS)]
        prog = "national_2030" if year >= 2017 and i % 4 == 0 else "national_key_rd"
        if i % 4 == 1 and (science < n_science and year <= 2018 or science == n_science and year == 2019):
            prog, science = "national_major_science", science + 1  # the one of 2019 is outside the figure
        add("national_major", prog, district, year, rng.choice(["underway", "underway", "completed"]),
            f"National major project {i + 1}")
    done = n_of(32, scale)
    for i in range(n_of(73, scale)):
        add("municipal_major", "zhangjiang_science_city", "PD", 2017 + (i % 2), "completed" if i < done else "underway",
            f"Zhangjiang Science City first-round project {i + 1}")
    for i in range(n_of(600, scale)):
        year = YEARS[i % len(YEARS)]
        level = rng.choice(["national_key", "municipal", "municipal", "district"])
        prog = {"national_key": "national_key_rd", "municipal": "municipal_major_st", "district": "other"}[level]
        add(level, prog, DISTRICTS[i % len(DISTRICTS)], year, rng.choice(["planned", "underway", "completed", "terminated"]),
            f"{level.replace('_', ' ').capitalize()} project {i + 1}")
    agency_projects = {"STCSM": ("municipal", "other"), "SHEITC": ("municipal", "other"),
                       "SHDRC": ("municipal_major", "functional_platform"), "SHTO": ("municipal", "other"),
                       "SSTIC": ("municipal", "other")}
    for agency, (level, prog) in agency_projects.items():
        for i in range(n_of(24, scale)):
            add(level, prog, _weighted(rng, DISTRICT_WEIGHTS), 2016 + i % 3,
                rng.choice(["underway", "underway", "completed"]), f"{agency} {prog.replace('_', ' ')} project {i + 1}",
                submitter=agency)
    # STCSM: the eight municipal S&T major projects, local (municipal + district) money above 4 billion.
    major = []
    for i in range(n_of(8, scale)):
        add("municipal_major", "municipal_major_st", "PD" if i % 2 else "XH", 2015 + i % 3, "underway",
            MUNICIPAL_MAJOR_TITLES[i % len(MUNICIPAL_MAJOR_TITLES)], submitter="STCSM")
        major.append(rows[-1])
    for r, v in zip(major, split_total(target("municipal_major_st_local_money", scale), [3 + i % 4 for i in range(len(major))]),
                        strict=True):
        r["funding_municipal_yuan"], r["funding_district_yuan"] = v, None
    # Period consistency: a district cannot report in 2015 that a project was completed in 2017, so a
    # completed project's end date falls in its reporting period; a few rows break this on purpose
    # (warnings in rpt_period_consistency, listed in Manifest.findings).
    old = {"title": "Legacy district programme project (started 1999)", "level": "district", "programme": "other",
           "field": "other", "lead_institution": "Shanghai University", "institution_type": "university",
           "district": "CM", "start_date": dt.date(1999, 9, 1), "end_date": None, "status": "underway",
           "funding_central_yuan": None, "funding_municipal_yuan": None, "funding_district_yuan": Decimal(300_000),
           "funding_self_raised_yuan": None, "_submitter": "CM"}
    rows.append({"project_code": f"P1999CM{next(counter):05d}", **old})

    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    quarterly = {(d, y) for d in DISTRICTS for y in YEARS if rng.random() < 0.25} - {("PD", 2018)}
    for r in rows:
        y = max(r["start_date"].year, YEARS[0])  # a project started before the programme is first reported in 2014
        period = f"{y}Q{_quarter(r['start_date'])}" if (r["_submitter"], y) in quarterly else str(y)
        r["_period"] = period
        if r["status"] == "completed" and r["end_date"] and r["end_date"] > _period_end(period):
            r["end_date"] = _period_end(period)
        groups[(r["_submitter"], period)].append(r)
    late = [r for r in rows if r["status"] == "completed" and r["level"] == "district" and r["_submitter"] != "PD"]
    for r in late[:2]:
        r["end_date"] = _period_end(r["_period"]) + dt.timedelta(days=45)

    specs = [FileSpec(sub, "projects", period, f"projects_{sub}_{period}", "plain",
                      _with_invalid(rng, grp, "projects", share, code))
             for (sub, period), grp in sorted(groups.items())]
    _rotate(specs, ["plain", "bom_zh", "gb18030_wan", "unit_column", "xlsx_title", "xlsx_sheets", "json"])

    # The correction: PD's 2018 file is sent again with every row right; the first stays superseded.
    first = next((s for s in specs if s.submitter == "PD" and s.period == "2018"), None) or max(
        (s for s in specs if s.submitter in DISTRICTS), key=lambda s: (s.valid, s.rel_path))
    good = [r for r in first.rows if not r.get("_broken")]
    wrong = [dict(r) for r in good]
    if len(wrong) >= 2:
        wrong.pop()  # a project forgotten in the first file
    if wrong[0].get("funding_municipal_yuan") is not None:
        wrong[0]["funding_municipal_yuan"] += Decimal(1_000_000)  # a typo in an amount
    for i in rng.sample(range(len(wrong)), k=min(len(wrong) - 1, max(1, round(len(wrong) * 0.03)))):
        wrong[i] = spoil(rng, wrong[i], "projects", "start_before_end")  # dates swapped by hand
    first.rows = wrong + [r for r in first.rows if r.get("_broken")]
    first.status = "superseded"
    first.note = f"corrected by {first.stem}_v2"
    specs.append(FileSpec(first.submitter, "projects", first.period, f"{first.stem}_v2", "plain", good,
                          note=f"correction of {first.name}: replaces it for {first.submitter}/projects/{first.period}"))
    return specs
