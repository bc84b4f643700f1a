"""The agency feeds' records: deterministic for a seed, each with its updated_at, served oldest first."""

from __future__ import annotations

import datetime as dt
import random
from functools import cache

from stic.agencies.pull import iso
from stic.contract.kinds import AGENCY_KINDS, KINDS

API_PREFIX = "/api/v1"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
FIRST_UPDATE = dt.datetime(2014, 1, 1, tzinfo=dt.UTC)
LAST_UPDATE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # exclusive


# ------------------------------------------------------------------------------------------ the data

# Records per feed at scale 1: a few hundred where the agency runs a large register, fewer where the
# real-world population is small (the 14 national infrastructures, the functional platforms).
FEED_SIZES = {
    ("STCSM", "projects"): 300, ("SHEITC", "projects"): 200, ("SHDRC", "projects"): 150,
    ("SHTO", "projects"): 120, ("SSTIC", "projects"): 150,
    ("STCSM", "facilities"): 80, ("SHEITC", "facilities"): 100, ("SHDRC", "facilities"): 20,
    ("SSTIC", "facilities"): 120, ("YRDN", "facilities"): 300,
    ("SIPTC", "ip_transactions"): 300, ("SHIPA", "ip_transactions"): 250,
}
N_PLATFORMS = 12  # STCSM's functional platforms in this feed world (codes STCSM-AFP-01..)

FIELDS = ("integrated_circuits", "artificial_intelligence", "biomedicine", "photonics", "quantum_information",
          "brain_science", "marine", "energy", "aerospace", "advanced_manufacturing", "new_materials",
          "new_energy_vehicles", "fintech", "other")
DISTRICTS = ("HP", "XH", "CN", "JA", "PT", "HK", "YP", "MH", "BS", "JD", "PD", "JS", "SJ", "QP", "FX", "CM")
INSTITUTIONS = (
    ("Fudan University", "university"), ("Shanghai Jiao Tong University", "university"),
    ("Tongji University", "university"), ("East China Normal University", "university"),
    ("ShanghaiTech University", "university"), ("Shanghai Institute of Materia Medica, CAS", "research_institute"),
    ("Shanghai Institute of Optics and Fine Mechanics, CAS", "research_institute"),
    ("Shanghai Advanced Research Institute, CAS", "research_institute"),
    ("Ruijin Hospital", "hospital"), ("Zhongshan Hospital", "hospital"),
    ("Shanghai Huahong Microelectronics Co., Ltd.", "enterprise"), ("Shanghai Zhangjiang Biotech Co., Ltd.", "enterprise"),
    ("Shanghai Lingang Intelligent Systems Co., Ltd.", "enterprise"), ("Shanghai Research Center of Siemens", "foreign_rd_center"),
)
TOPICS = ("key technology research", "platform construction", "applied basic research", "demonstration project",
          "pilot industrialisation", "core component development")


def _ts(rng: random.Random, lo: dt.datetime = FIRST_UPDATE, hi: dt.datetime = LAST_UPDATE) -> dt.datetime:
    return lo + dt.timedelta(seconds=rng.randrange(int((hi - lo).total_seconds())))


def _day(ts: dt.datetime, lo: dt.date, rng: random.Random) -> dt.date:
    """A date between lo and the day of ts (or lo when ts is earlier)."""
    hi = ts.date()
    return lo if hi <= lo else lo + dt.timedelta(days=rng.randrange((hi - lo).days + 1))


def _project(rng: random.Random, agency: str, i: int, updated: dt.datetime) -> dict:
    start = _day(updated, dt.date(2013, 1, 1), rng)
    end = start + dt.timedelta(days=rng.randint(365, 4 * 365))
    level = "municipal_major" if rng.random() < 0.3 else "municipal"
    programme = {"STCSM": "municipal_major_st" if level == "municipal_major" else "other",
                 "SSTIC": "functional_platform"}.get(agency, "other")
    field_ = rng.choice(FIELDS)
    inst, inst_type = rng.choice(INSTITUTIONS)
    return {
        "project_code": f"{agency}-AP{start.year}-{i:04d}",
        "title": f"{field_.replace('_', ' ').capitalize()} {rng.choice(TOPICS)} {i}",
        "level": level, "programme": programme, "field": field_,
        "lead_institution": inst, "institution_type": inst_type, "district": rng.choice(DISTRICTS),
        "start_date": start.isoformat(), "end_date": end.isoformat(),
        "status": "completed" if end < updated.date() else "underway",
        "funding_central_yuan": None,
        "funding_municipal_yuan": rng.randint(50, 2000) * 10_000,
        "funding_district_yuan": rng.randint(0, 500) * 10_000,
        "funding_self_raised_yuan": rng.randint(0, 1000) * 10_000,
    }


def _facility(rng: random.Random, agency: str, i: int, updated: dt.datetime) -> dict:
    field_ = rng.choice(FIELDS)
    host, _ = rng.choice(INSTITUTIONS)
    cstart = _day(updated, dt.date(2012, 1, 1), rng)
    row = {"facility_code": f"{agency}-AF-{i:04d}", "name": "", "facility_type": "laboratory", "field": field_,
           "district": rng.choice(DISTRICTS), "host_institution": host, "status": "in_operation",
           "construction_start_date": cstart.isoformat(), "operation_start_date": None,
           "total_investment_yuan": None, "original_value_yuan": None, "is_shared": None,
           "service_hours": None, "external_users": None}
    label = field_.replace("_", " ").capitalize()
    if agency == "SHDRC":  # the national major science and technology infrastructures
        status = rng.choice(("planned", "under_construction", "under_construction", "in_operation"))
        row.update(facility_type="national_major_infrastructure", name=f"{label} national facility {i}", status=status,
                   total_investment_yuan=rng.randint(10, 200) * 100_000_000)
    elif agency == "STCSM" and i < N_PLATFORMS:
        row.update(facility_code=f"STCSM-AFP-{i + 1:02d}", facility_type="functional_platform",
                   name=f"{label} R&D and transformation functional platform",
                   total_investment_yuan=rng.randint(5, 50) * 10_000_000)
    elif agency == "YRDN":
        row.update(facility_type="large_instrument", name=f"{label} instrument {i}", construction_start_date=None,
                   original_value_yuan=rng.randint(50, 5000) * 10_000, is_shared=rng.random() < 0.85,
                   service_hours=rng.randint(100, 4000), external_users=rng.randint(0, 300))
        row["operation_start_date"] = _day(updated, dt.date(2010, 1, 1), rng).isoformat()
        return row
    elif agency == "SSTIC" and rng.random() < 0.5:
        row.update(facility_type="incubator", name=f"{label} maker space {i}")
    else:
        row.update(name=f"{label} key laboratory {i}", total_investment_yuan=rng.randint(1, 30) * 1_000_000)
    if row["status"] == "in_operation":
        row["operation_start_date"] = _day(updated, cstart, rng).isoformat()
    return row


def _assessments(agency: str, seed: int) -> list[dict]:
    """Each STCSM platform's yearly assessment, published in the first half of the next year: STCSM
    reports the five contract items and the score, SHFB the funding (each its own part of the contract)."""
    rng = random.Random(f"{seed}:platform_assessments")  # shared: both agencies describe the same platforms
    out = []
    for p in range(1, N_PLATFORMS + 1):
        first = 2014 + rng.randint(0, 3)
        muni = rng.randint(1500, 5000) * 10_000
        for year in range(first, 2019):
            items = {}
            score = 0.0
            for item, (lo, hi) in (("common_tech_services", (50, 400)), ("commercialisation", (5, 60)),
                                   ("startups_incubated", (2, 30)), ("talent_trained", (20, 300)), ("cooperation", (5, 80))):
                t = rng.randint(lo, hi)
                a = max(0, round(t * rng.uniform(0.6, 1.3)))
                items[f"{item}_target"], items[f"{item}_actual"] = t, a
                score += min(a / t, 1.2) * 20
            dist = round(muni * rng.uniform(1.0, 1.4), -4)
            market = rng.randint(300, 3000) * 10_000
            updated = _ts(rng, dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC), dt.datetime(year + 1, 7, 1, tzinfo=dt.UTC))
            row = {"platform_code": f"STCSM-AFP-{p:02d}", "assessment_year": year, "updated_at": updated}
            if agency == "STCSM":
                row.update(items, score=round(min(score, 100.0), 1))
            else:
                row.update(municipal_fund_yuan=muni, district_match_yuan=int(dist), market_revenue_yuan=market)
            out.append(row)
            muni = round(muni * rng.uniform(0.75, 1.0), -4)  # "constant at the beginning, diminishing later on"
    return out


def _ip_transaction(rng: random.Random, agency: str, i: int, updated: dt.datetime) -> dict:
    listing = _day(updated, dt.date(2013, 6, 1), rng)
    deal = _day(updated, listing, rng) if agency == "SHIPA" or rng.random() < 0.6 else None
    seller, seller_type = rng.choice(INSTITUTIONS)
    if agency == "SHIPA":
        ttype = "technology_export"
        region = rng.choices(("jiangsu", "zhejiang", "anhui", "other_province", "overseas"), (35, 30, 15, 15, 5))[0]
    else:
        ttype = rng.choices(("transfer", "license", "pledge", "equity_contribution"), (50, 30, 10, 10))[0]
        region = rng.choice(DISTRICTS + ("jiangsu", "zhejiang", "anhui", "other_province"))
    price = rng.randint(1, 500) * 10_000
    amount = round(price * rng.uniform(0.7, 1.2), -2) if deal else None
    return {
        "transaction_code": f"{agency}-AT-{i:05d}", "listing_date": listing.isoformat(),
        "deal_date": deal.isoformat() if deal else None,
        "ip_type": rng.choices(("invention_patent", "utility_model", "software_copyright", "design_patent",
                                "ic_layout_design", "technical_know_how", "trademark"), (50, 15, 12, 5, 5, 8, 5))[0],
        "transaction_type": ttype, "field": rng.choice(FIELDS), "seller": seller, "seller_type": seller_type,
        "seller_district": rng.choice(DISTRICTS), "buyer": f"Buyer {i} Co., Ltd.", "buyer_region": region,
        "listed_price_yuan": price, "deal_amount_yuan": int(amount) if amount else None,
        "net_revenue_yuan": int(round(amount * 0.8, -2)) if amount else None,
        "inventor_award_share": round(rng.uniform(0.3, 0.7), 2) if amount and seller_type in ("university", "research_institute") else None,
    }


_MAKERS = {"projects": _project, "facilities": _facility, "ip_transactions": _ip_transaction}


def make_record(agency: str, kind: str, i: int, updated: dt.datetime, seed: int) -> dict:
    """Record i of a feed, last updated at `updated` (also used to add records to a feed at run time)."""
    rng = random.Random(f"{seed}:{agency}:{kind}:{i}")
    row = _MAKERS[kind](rng, agency, i, updated)
    # every contract column, null when the feed has no value (e.g. joint_with): the API's documented shape
    return {**dict.fromkeys(KINDS[kind].column_names), **row, "updated_at": iso(updated),
            "record_id": f"{agency}/{kind}/{i:06d}"}


@cache
def feed(agency: str, kind: str, seed: int = 42, scale: float = 1.0) -> tuple[dict, ...]:
    """Every record of one feed, ordered by (updated_at, record_id). Deterministic for the seed."""
    if kind not in AGENCY_KINDS.get(agency, ()):
        raise KeyError(f"{agency}/{kind}")
    if kind == "platform_assessments":
        rows = [{**{c: None for c in KINDS[kind].column_names}, **r,
                 "updated_at": iso(r["updated_at"]), "record_id": f"{agency}/{kind}/{r['platform_code']}/{r['assessment_year']}"}
                for r in _assessments(agency, seed)]
    else:
        n = max(1, round(FEED_SIZES[(agency, kind)] * scale))
        rng = random.Random(f"{seed}:{agency}:{kind}")
        rows = [make_record(agency, kind, i, _ts(rng), seed) for i in range(n)]
    return tuple(sorted(rows, key=lambda r: (r["updated_at"], r["record_id"])))


def parse_ts(value: str) -> dt.datetime:
    """An ISO 8601 timestamp (or date) as an aware datetime; no zone means UTC. ValueError otherwise."""
    ts = dt.datetime.fromisoformat(value.strip())
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)


def in_interval(record: dict, since: dt.datetime | None, until: dt.datetime | None) -> bool:
    ts = parse_ts(record["updated_at"])
    return (since is None or ts >= since) and (until is None or ts < until)
