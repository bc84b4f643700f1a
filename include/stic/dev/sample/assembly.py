"""A whole run: every file spec, the published rows, the control figures, the intended findings, `generate`."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from functools import cache
from pathlib import Path

from .common import INVALID_SHARE, TARGETS, FileSpec, Manifest
from .facilities import build_facilities
from .ip_transactions import AWARD_RULE_SELLERS, AWARD_RULE_TYPES, build_ip_transactions
from .platforms import build_platform_assessments
from .projects import build_projects
from .rows import _period_end
from .writers import write_file

# -------------------------------------------------------------------------------------------- assembly

@cache
def build(scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> tuple[tuple[FileSpec, ...], dict]:
    """Every file of a run (in path order) and the platform findings. Cached: do not mutate the result."""
    pa, findings = build_platform_assessments(seed, scale, invalid_share)
    specs = (build_projects(seed, scale, invalid_share) + build_facilities(seed, scale, invalid_share) + pa
             + build_ip_transactions(seed, scale, invalid_share))
    paths = [s.rel_path for s in specs]
    assert len(paths) == len(set(paths)), "two files at one path"
    return tuple(sorted(specs, key=lambda s: s.rel_path)), findings


def rows_for(kind: str, scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> list[dict]:
    """The rows a correct load publishes for a kind (with `_submitter` and `_period`), in file order."""
    specs, _ = build(scale, seed, invalid_share)
    return [r for s in specs if s.kind == kind and s.status == "published" for r in s.rows if not r.get("_broken")]


CONTROL_DEFINITIONS = {
    "siptc_listings_2018": "ip_transactions, submitter SIPTC, listing_date in 2018: count",
    "siptc_deal_value_2018": "ip_transactions, submitter SIPTC, deal_date in 2018: sum(deal_amount_yuan)",
    "tech_exports_yrd_count": "ip_transactions, transaction_type technology_export, buyer_region in (jiangsu, zhejiang, anhui), "
                              "deal_date <= 2018-12-31 (all from SHIPA): count",
    "tech_exports_yrd_value": "same rows as tech_exports_yrd_count: sum(deal_amount_yuan)",
    "national_major_infrastructure": "facilities, facility_type national_major_infrastructure, status in "
                                     "(under_construction, in_operation) (from SHDRC): count",
    "national_major_projects": "projects, level national_major: count",
    "foreign_rd_centers_2018": "facilities, facility_type foreign_rd_center, operation_start_date <= 2018-12-31: count",
    "incubators_2019": "facilities, facility_type incubator (all in 2019 periods): count",
    "large_instruments_units": "facilities, submitter YRDN, facility_type large_instrument, is_shared true: count",
    "large_instruments_value": "same rows as large_instruments_units: sum(original_value_yuan)",
    "functional_platforms_2018": "facilities, submitter STCSM, period 2018, facility_type functional_platform: count",
    "zhangjiang_first_round_started": "projects, programme zhangjiang_science_city: count",
    "zhangjiang_first_round_completed": "projects, programme zhangjiang_science_city, status completed: count",
    "functional_platforms_started_2019": "facilities, facility_type functional_platform, construction_start_date "
                                         "<= 2019-12-31: count",
    "municipal_major_st_projects": "projects, level municipal_major, programme municipal_major_st (from STCSM): count",
    "municipal_major_st_local_money": "same rows: sum(funding_municipal_yuan + funding_district_yuan)",
    "national_major_science_2014_2018": "projects, level national_major, programme national_major_science, "
                                        "start_date in 2014-01-01..2018-12-31: count",
}


FIGURE_CODES = {  # generator name -> figure_code of the seed control_figures (rpt_control_totals)
    "siptc_listings_2018": "ip_centre_listings_2018",
    "siptc_deal_value_2018": "ip_centre_transaction_value_2018",
    "tech_exports_yrd_count": "tech_exports_yrd_count_2018",
    "tech_exports_yrd_value": "tech_exports_yrd_turnover_2018",
    "national_major_infrastructure": "national_major_infrastructure_2019",
    "national_major_projects": "national_major_projects_2019",
    "foreign_rd_centers_2018": "foreign_rd_centres_2018",
    "incubators_2019": "incubators_2019",
    "large_instruments_units": "shared_instruments_count_2019",
    "large_instruments_value": "shared_instruments_value_2019",
    "functional_platforms_2018": "functional_platforms_2018",
    "zhangjiang_first_round_started": "zhangjiang_first_round_started_2019",
    "zhangjiang_first_round_completed": "zhangjiang_first_round_completed_2019",
    "functional_platforms_started_2019": "functional_platforms_started_2019",
    "municipal_major_st_projects": "municipal_major_st_projects_2019",
    "municipal_major_st_local_money": "municipal_major_st_local_money_2019",
    "national_major_science_2014_2018": "national_major_science_projects_2014_2018",
}


def control_figures(scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> dict[str, Decimal | int]:
    """The control figures computed from the published rows, by the definitions of the module docstring."""
    ip = rows_for("ip_transactions", scale, seed, invalid_share)
    fac = rows_for("facilities", scale, seed, invalid_share)
    proj = rows_for("projects", scale, seed, invalid_share)
    y2018 = (dt.date(2018, 1, 1), dt.date(2018, 12, 31))
    siptc_l = [r for r in ip if r["_submitter"] == "SIPTC" and y2018[0] <= r["listing_date"] <= y2018[1]]
    siptc_d = [r for r in ip if r["_submitter"] == "SIPTC" and r["deal_date"] and y2018[0] <= r["deal_date"] <= y2018[1]]
    exports = [r for r in ip if r["transaction_type"] == "technology_export" and r["buyer_region"] in ("jiangsu", "zhejiang", "anhui")
               and r["deal_date"] and r["deal_date"] <= y2018[1]]
    instruments = [r for r in fac if r["_submitter"] == "YRDN" and r["facility_type"] == "large_instrument" and r["is_shared"]]
    zj = [r for r in proj if r["programme"] == "zhangjiang_science_city"]
    major = [r for r in proj if r["level"] == "municipal_major" and r["programme"] == "municipal_major_st"]
    return {
        "siptc_listings_2018": len(siptc_l),
        "siptc_deal_value_2018": sum((r["deal_amount_yuan"] for r in siptc_d), Decimal(0)),
        "tech_exports_yrd_count": len(exports),
        "tech_exports_yrd_value": sum((r["deal_amount_yuan"] for r in exports), Decimal(0)),
        "national_major_infrastructure": sum(1 for r in fac if r["facility_type"] == "national_major_infrastructure"
                                             and r["status"] in ("under_construction", "in_operation")),
        "national_major_projects": sum(1 for r in proj if r["level"] == "national_major"),
        "foreign_rd_centers_2018": sum(1 for r in fac if r["facility_type"] == "foreign_rd_center"
                                       and r["operation_start_date"] <= y2018[1]),
        "incubators_2019": sum(1 for r in fac if r["facility_type"] == "incubator"),
        "large_instruments_units": len(instruments),
        "large_instruments_value": sum((r["original_value_yuan"] for r in instruments), Decimal(0)),
        "functional_platforms_2018": sum(1 for r in fac if r["_submitter"] == "STCSM" and r["_period"] == "2018"
                                         and r["facility_type"] == "functional_platform"),
        "zhangjiang_first_round_started": len(zj),
        "zhangjiang_first_round_completed": sum(1 for r in zj if r["status"] == "completed"),
        "functional_platforms_started_2019": sum(1 for r in fac if r["facility_type"] == "functional_platform"
                                                 and r["construction_start_date"]
                                                 and r["construction_start_date"] <= dt.date(2019, 12, 31)),
        "municipal_major_st_projects": len(major),
        "municipal_major_st_local_money": sum(((r["funding_municipal_yuan"] or 0) + (r["funding_district_yuan"] or 0)
                                               for r in major), Decimal(0)),
        "national_major_science_2014_2018": sum(1 for r in proj if r["level"] == "national_major"
                                                and r["programme"] == "national_major_science"
                                                and dt.date(2014, 1, 1) <= r["start_date"] <= y2018[1]),
    }


PERIOD_FLOOR = dt.date(2000, 1, 1)  # dbt var period_start_floor: a start date before it is "far before the programme"


def period_findings(scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> dict[str, list[str]]:
    """Reporting-period warnings the published rows carry (rpt_period_consistency ids kind|code|check)."""
    out: dict[str, list[str]] = defaultdict(list)
    for r in rows_for("projects", scale, seed, invalid_share):
        if r["status"] == "completed" and r["end_date"] and r["end_date"] > _period_end(r["_period"]):
            out["completed_end_after_period"].append(f"projects|{r['project_code']}")
        if r["start_date"] < PERIOD_FLOOR:
            out["start_before_floor"].append(f"projects|{r['project_code']}")
    for r in rows_for("facilities", scale, seed, invalid_share):
        if (r["status"] == "in_operation" and r["operation_start_date"]
                and r["operation_start_date"] > _period_end(r["_period"])):
            out["operation_start_after_period"].append(f"facilities|{r['facility_code']}")
        first = r["construction_start_date"] or r["operation_start_date"]
        if first and first < PERIOD_FLOOR:
            out["start_before_floor"].append(f"facilities|{r['facility_code']}")
    return {k: sorted(f"{v}|{k}" for v in vals) for k, vals in sorted(out.items())}


def award_findings(scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> list[str]:
    """Transaction codes whose inventors' award share is below the 70 % floor (rpt_award_share_findings)."""
    return sorted(r["transaction_code"] for r in rows_for("ip_transactions", scale, seed, invalid_share)
                  if r["transaction_type"] in AWARD_RULE_TYPES and r["seller_type"] in AWARD_RULE_SELLERS
                  and r["inventor_award_share"] is not None and r["inventor_award_share"] < Decimal("0.7"))


def intended_findings(scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> dict[str, list[str]]:
    """Every finding the marts must report for this sample, by finding code: the platform rules
    (platform_code|year, rpt_platform_funding_findings), the award-share floor (transaction codes,
    rpt_award_share_findings) and the reporting-period checks (kind|code|check, rpt_period_consistency)."""
    _, platform = build(scale, seed, invalid_share)
    return {**platform, "award_share_below_0_7": award_findings(scale, seed, invalid_share),
            **period_findings(scale, seed, invalid_share)}


def generate(out_dir: Path, scale: float = 1.0, seed: int = 42, invalid_share: float = INVALID_SHARE) -> Manifest:
    """Write every kind's files to out_dir/<SUBMITTER>/<kind>/<period>/<file>; return the manifest
    (also written to generated-manifest.json beside out_dir)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    specs, _ = build(scale, seed, invalid_share)
    manifest = Manifest(str(out_dir), seed, scale)
    for spec in specs:
        path = write_file(out_dir, spec, seed)
        manifest.add(spec, path)
        if spec.status == "rejected":
            manifest.rejected_files.append({"path": spec.rel_path, "rule": "missing_columns", "reason": spec.note})
        if spec.status == "superseded":
            manifest.corrections.append({
                "key": f"{spec.submitter}/{spec.kind}/{spec.period}", "superseded": spec.rel_path,
                "by": next(s.rel_path for s in specs if s.stem == f"{spec.stem}_v2" and s.kind == spec.kind),
            })
    figures = control_figures(scale, seed, invalid_share)
    manifest.control_figures = {
        name: {"value": str(v) if isinstance(v, Decimal) else v, "target_at_scale_1": TARGETS[name],
               "definition": CONTROL_DEFINITIONS[name], "figure_code": FIGURE_CODES[name]}
        for name, v in figures.items()
    }
    manifest.findings = intended_findings(scale, seed, invalid_share)
    (out_dir.parent / "generated-manifest.json").write_text(json.dumps(manifest.as_dict(), indent=2, ensure_ascii=False),
                                                            encoding="utf-8")
    return manifest
