"""The platform_assessments files (SHFB) and the platform findings planted in them."""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import Decimal

from .common import FileSpec, target
from .facilities import platform_start
from .rows import _with_invalid

# -------------------------------------------------------------------------------- platform assessments

PASS_MARK = 60  # dbt var platform_pass_mark
ITEMS = (("common_tech_services", (50, 400)), ("commercialisation", (5, 60)), ("startups_incubated", (2, 30)),
         ("talent_trained", (20, 300)), ("cooperation", (5, 80)))
# Platform numbers (1-based, FP2018-NN) that break a rule on purpose; every other platform year obeys them all.
# Start years (platform_start): NN % 3 == 0 -> 2016, 1 -> 2017, 2 -> 2018; the initial contract is three
# years unless contract_years says otherwise, so only 2016 platforms are past it in 2019 (their year 4).
PLANTED = {
    "district_below": {3, 8, 14},  # 2019: district operating money below the city's
    "rising": {6, 12},  # 2016 starts: 2019 fiscal operating money and its share rise (year 4)
    "rising_in_contract": {9, 5},  # rise too, but 9 has a five-year contract and 5 started in 2018: no warning
    "missed_targets": {4, 10},  # 2018: one item below target, yet 2019 money not lower (Item Twelve)
    "low_score": {13},  # 2018: score under the pass mark, yet 2019 money not lower (Item Twelve)
    "cut_no_reason": {2, 7},  # 2018 well assessed, 2019 money cut with no reason recorded (informational)
}
DIMINISHING_REASON = "按合同递减 diminishing as contracted (Item Ten)"


def _assessment(rng: random.Random, achieved: float | None) -> dict:
    """Targets and actuals of the five items; `achieved` None = every target met, else each actual is
    that fraction of its target (the first item only when achieved > 0.7)."""
    row, met = {}, Decimal(0)
    for j, (item, (lo, hi)) in enumerate(ITEMS):
        t = rng.randint(lo, hi)
        if achieved is None:
            a = t + rng.randint(0, max(1, t // 4))
        elif achieved > 0.7 and j > 0:
            a = t + rng.randint(0, max(1, t // 4))
        else:
            a = int(t * achieved)
        row[f"{item}_target"], row[f"{item}_actual"] = t, a
        met += min(Decimal(a) / t, Decimal(1))
    row["score"] = (met * 17 + Decimal(rng.randint(0, 150)) / 10).quantize(Decimal("0.1"))
    return row


def build_platform_assessments(seed: int, scale: float, share: float) -> tuple[list[FileSpec], dict]:
    """SHFB's yearly assessment of each started functional platform, 2018 and 2019, with its operating
    money (city, district, market) and construction money. The platforms of PLANTED break the guideline's
    rules on purpose; `findings` lists them by finding code, as rpt_platform_funding_findings ids."""
    rng = random.Random(f"{seed}:platform_assessments")
    n = target("functional_platforms_started_2019", scale)
    findings: dict[str, list[str]] = defaultdict(list)
    by_year: dict[int, list[dict]] = {2018: [], 2019: []}
    for nn in range(1, n + 1):
        code = f"FP2018-{nn:02d}"
        start = platform_start(nn)
        muni = rng.randint(1500, 5000)  # 万元, operating money
        dist = muni + rng.randint(0, muni * 2 // 5)
        market = rng.randint(300, 3000)
        achieved = 0.8 if nn in PLANTED["missed_targets"] else 0.4 if nn in PLANTED["low_score"] else None
        rows = {}
        for year in (2018, 2019):
            row = {"platform_code": code, "assessment_year": year, **_assessment(rng, achieved if year == 2018 else None)}
            reason = None
            if year == 2019:
                if nn in PLANTED["rising"] or nn in PLANTED["rising_in_contract"]:
                    muni, market = muni * 6 // 5, market * 4 // 5
                    dist = max(muni, dist * 11 // 10)  # the new city amount: the match rule still holds
                elif nn in PLANTED["missed_targets"] or nn in PLANTED["low_score"]:
                    market = market * 11 // 10
                else:
                    muni, market = muni * rng.randint(75, 95) // 100, market * rng.randint(12, 18) // 10
                    dist = max(muni, dist * rng.randint(75, 95) // 100)
                    reason = None if nn in PLANTED["cut_no_reason"] else DIMINISHING_REASON
                if nn in PLANTED["district_below"]:
                    dist = muni * rng.randint(50, 90) // 100
            row["municipal_fund_yuan"] = Decimal(muni * 10_000)
            row["district_match_yuan"] = Decimal(dist * 10_000)
            row["market_revenue_yuan"] = Decimal(market * 10_000)
            # Construction money (outside the match): the city pays while a platform is being built.
            row["construction_fund_yuan"] = Decimal(rng.randint(3000, 9000) * 10_000) if start.year + 1 >= year else None
            row["contract_years"] = 5 if nn == 9 else None
            row["funding_change_reason"] = reason
            row["_submitter"], row["_period"] = "SHFB", str(year)
            by_year[year].append(row)
            rows[year] = row
        if nn in PLANTED["district_below"]:
            findings["district_operating_match_below_city"].append(f"{code}|2019")
        if nn in PLANTED["rising"]:
            findings["fiscal_operating_rising"].append(f"{code}|2019")
            findings["fiscal_share_rising"].append(f"{code}|2019")
        if nn in PLANTED["missed_targets"] or nn in PLANTED["low_score"]:
            findings["assessment_missed_funding_not_reduced"].append(f"{code}|2018")
        if nn in PLANTED["cut_no_reason"]:
            findings["well_assessed_funding_cut"].append(f"{code}|2018")
    extra = iter(range(n + 1, 10**6))
    specs = [FileSpec("SHFB", "platform_assessments", str(y), f"platform_assessments_SHFB_{y}", style,
                      _with_invalid(rng, rows, "platform_assessments", share, lambda r: f"FP2018-{next(extra):02d}"))
             for (y, rows), style in zip(sorted(by_year.items()), ["xlsx_title", "gb18030_wan"], strict=True)]
    return specs, {k: sorted(v) for k, v in sorted(findings.items())}
