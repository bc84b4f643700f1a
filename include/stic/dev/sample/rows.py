"""Row helpers every kind uses: dates, money, weighted picks, totals split over rows, and invalid rows."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from stic.contract.kinds import KINDS

from .common import FileSpec

# ------------------------------------------------------------------------------------------- row helpers

def _date(rng: random.Random, year: int, last: dt.date | None = None) -> dt.date:
    start = dt.date(year, 1, 1)
    end = min(last or dt.date(year, 12, 31), dt.date(year, 12, 31))
    return start + dt.timedelta(days=rng.randrange((end - start).days + 1))


def _money(rng: random.Random, lo: int, hi: int) -> Decimal:
    """An amount in yuan, a whole number of 万元 more often than not (as budgets are)."""
    wan = rng.randint(lo, hi)
    return Decimal(wan * 10_000) if rng.random() < 0.8 else Decimal(wan * 10_000 + rng.randint(1, 9999))


def split_total(total: Decimal, weights: list[float], unit: int = 100) -> list[Decimal]:
    """Amounts proportional to weights, each a positive multiple of `unit`, summing exactly to total."""
    units = int(total) // unit
    n = len(weights)
    if n == 0:
        return []
    assert units >= n and int(total) % unit == 0, (total, n)
    s = sum(weights)
    raw = [w / s * (units - n) for w in weights]
    fl = [int(x) for x in raw]
    rest = units - n - sum(fl)
    for i in sorted(range(n), key=lambda i: (fl[i] - raw[i], i))[:rest]:
        fl[i] += 1
    out = [Decimal((f + 1) * unit) for f in fl]
    assert sum(out) == total
    return out


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _spread(n: int, weights: list[float]) -> list[int]:
    """n split into len(weights) whole parts proportional to weights (largest remainders)."""
    s = sum(weights)
    raw = [w / s * n for w in weights]
    fl = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: (fl[i] - raw[i], i))[: n - sum(fl)]:
        fl[i] += 1
    return fl


def _quarter(d: dt.date) -> int:
    return (d.month - 1) // 3 + 1


def _period_end(period: str) -> dt.date:
    y, q = int(period[:4]), (int(period[5]) if "Q" in period else 4)
    return dt.date(y, 12, 31) if q == 4 else dt.date(y, 3 * q + 1, 1) - dt.timedelta(days=1)


INSTITUTIONS = {
    "university": ["Fudan University", "Shanghai Jiao Tong University", "Tongji University", "East China Normal University",
                   "ShanghaiTech University", "Shanghai University", "East China University of Science and Technology"],
    "research_institute": ["Shanghai Institute of Materia Medica, CAS", "Shanghai Institute of Microsystem and Information Technology",
                           "Shanghai Advanced Research Institute, CAS", "Zhangjiang Laboratory", "Institute of Neuroscience, CAS",
                           "Shanghai Institute of Optics and Fine Mechanics, CAS", "Shanghai Institute of Applied Physics, CAS"],
    "enterprise": ["SMIC", "Huahong Group", "United Imaging", "Advanced Micro-Fabrication Equipment", "Unisoc",
                   "Shanghai Micro Electronics Equipment", "Commercial Aircraft Corporation of China", "SAIC Motor",
                   "Shanghai Electric", "Baosteel"],
    "hospital": ["Ruijin Hospital", "Zhongshan Hospital", "Renji Hospital", "Huashan Hospital"],
    "foreign_rd_center": ["Microsoft Research Asia Shanghai", "SAP Labs China", "Amazon AWS Shanghai AI Lab",
                          "Roche Innovation Center Shanghai", "GE China Technology Center"],
}
MUNICIPAL_MAJOR_TITLES = ["Hard X-ray free electron laser device: preliminary stage study", "Silicon photonics",
                         "Brain-inspired chips and intelligence", "Advanced IC packaging etchers",
                         "Heavy-duty gas turbine key technologies", "Domestic high-end medical imaging equipment",
                         "Quantum communication network", "Marine deep-sea exploration equipment"]
HOSTS = [h for k in ("university", "research_institute", "hospital", "enterprise") for h in INSTITUTIONS[k]]
DISTRICT_WEIGHTS = {"PD": 30, "XH": 12, "YP": 10, "MH": 10, "JD": 7, "CN": 4, "JA": 4, "HP": 3, "PT": 3, "HK": 3,
                    "BS": 4, "SJ": 5, "QP": 2, "FX": 2, "JS": 1, "CM": 1}


def _key_name(kind: str) -> str:
    return KINDS[kind].key


# Each invalid row breaks exactly one critical rule; the loader must quarantine exactly these.
SPOILERS = {
    "projects": ["code_list", "amount_non_negative", "start_before_end", "required"],
    "facilities": ["code_list", "amount_non_negative", "construction_before_operation", "required"],
    "platform_assessments": ["amount_non_negative", "required", "year_range", "number_parse"],
    "ip_transactions": ["code_list", "amount_non_negative", "listing_before_deal", "required", "share_range"],
}


def spoil(rng: random.Random, row: dict, kind: str, rule: str | None = None) -> dict:
    bad = dict(row)
    rule = rule or rng.choice(SPOILERS[kind])
    if rule == "code_list":
        col = {"projects": "district", "facilities": "facility_type", "ip_transactions": "ip_type"}[kind]
        bad[col] = {"district": "Atlantis", "facility_type": "spaceport", "ip_type": "perpetual motion"}[col]
    elif rule == "amount_non_negative":
        col = {"projects": "funding_self_raised_yuan", "facilities": "total_investment_yuan",
               "platform_assessments": "municipal_fund_yuan", "ip_transactions": "listed_price_yuan"}[kind]
        bad[col] = Decimal(-rng.randint(1, 50) * 10_000)
    elif rule == "start_before_end":
        bad["end_date"] = bad["start_date"] - dt.timedelta(days=rng.randint(1, 400))
    elif rule == "construction_before_operation":
        op = bad.get("operation_start_date") or dt.date(2017, 6, 30)
        bad["operation_start_date"] = op
        bad["construction_start_date"] = op + dt.timedelta(days=rng.randint(30, 700))
    elif rule == "listing_before_deal":
        bad["deal_date"] = bad["listing_date"] - dt.timedelta(days=rng.randint(1, 90))
        bad["deal_amount_yuan"] = bad.get("deal_amount_yuan") or Decimal(100_000)
    elif rule == "share_range":
        bad["inventor_award_share"] = Decimal(rng.choice(["1.2", "1.5", "7", "70"]))
    elif rule == "year_range":
        bad["assessment_year"] = rng.choice([2009, 2031, 1918])
    elif rule == "number_parse":
        bad["score"] = rng.choice(["优秀", "良好", "pass"])
    elif rule == "required":
        col = {"projects": "title", "facilities": "name", "platform_assessments": "assessment_year",
               "ip_transactions": "seller"}[kind]
        bad[col] = None
    bad["_broken"] = rule
    return bad


def _with_invalid(rng: random.Random, rows: list[dict], kind: str, share: float, new_key) -> list[dict]:
    """The file's rows plus about `share` extra rows (copies of valid ones under a new code), each spoiled."""
    n_bad = int(len(rows) * share + rng.random())
    out = list(rows)
    for _ in range(n_bad):
        base = dict(rng.choice(rows))
        base[_key_name(kind)] = new_key(base)
        out.insert(rng.randrange(len(out) + 1), spoil(rng, base, kind))
    return out


def _rotate(specs: list[FileSpec], styles: list[str]) -> None:
    for i, s in enumerate(sorted(specs, key=lambda s: s.rel_path)):
        s.style = styles[i % len(styles)]
