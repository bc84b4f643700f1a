"""The ip_transactions files: SIPTC's listings and SHIPA's technology-export contracts."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from .common import FIELDS, FileSpec, n_of, target
from .rows import (
    DISTRICT_WEIGHTS,
    INSTITUTIONS,
    _date,
    _period_end,
    _quarter,
    _rotate,
    _spread,
    _weighted,
    _with_invalid,
    split_total,
)

# ------------------------------------------------------------------------------------- IP transactions

SYLLABLES = ["Hua", "Xin", "Zhong", "Tian", "Rui", "Kang", "Bo", "Yuan", "Feng", "Ling", "Chuang", "Da", "Jia", "Heng"]
REGION_CITY = {"jiangsu": ["Suzhou", "Wuxi", "Nanjing", "Changzhou", "Nantong"], "zhejiang": ["Hangzhou", "Ningbo", "Jiaxing", "Huzhou"],
               "anhui": ["Hefei", "Wuhu", "Ma'anshan"], "other_province": ["Shenzhen", "Chengdu", "Wuhan", "Xi'an"],
               "overseas": ["Singapore", "Munich", "Boston"]}
IP_TYPES = {"invention_patent": 50, "utility_model": 15, "software_copyright": 12, "design_patent": 5,
            "ic_layout_design": 5, "technical_know_how": 8, "trademark": 5}


def _company(rng: random.Random, city: str = "Shanghai") -> str:
    return f"{city} {rng.choice(SYLLABLES)}{rng.choice(SYLLABLES).lower()} {rng.choice(['Technology', 'Biotech', 'Microelectronics', 'Intelligent Systems', 'New Materials'])} Co., Ltd."


def _seller(rng: random.Random) -> tuple[str, str]:
    t = rng.choices(["university", "research_institute", "enterprise", "hospital"], weights=[35, 20, 40, 5])[0]
    return (rng.choice(INSTITUTIONS[t]) if t != "enterprise" or rng.random() < 0.3 else _company(rng)), t


AWARD_RULE_SELLERS = ("university", "research_institute")
AWARD_RULE_TYPES = ("transfer", "license")


def _award(rng: random.Random, seller_type: str, transaction_type: str) -> Decimal | None:
    """The share of net revenue awarded to the inventors. The 2017 Rules set a floor of 70 % for transfers
    and licences by universities and research institutes: about 2 % of those fall below it (findings,
    Manifest.findings); other sellers and transaction types are outside the rule."""
    if seller_type == "enterprise":
        return None
    if seller_type in AWARD_RULE_SELLERS and transaction_type in AWARD_RULE_TYPES:
        if rng.random() < 0.02:
            return Decimal(rng.randint(50, 69)) / 100
        return Decimal(rng.randint(70, 95)) / 100
    return Decimal(rng.randint(30, 90)) / 100


def build_ip_transactions(seed: int, scale: float, share: float) -> list[FileSpec]:
    rng = random.Random(f"{seed}:ip_transactions")
    specs: list[FileSpec] = []

    # SIPTC listings: quarterly files from 2016 on; a row carries the deal closed by the period's end.
    listings = {2014: 900, 2015: 1300, 2016: 1800, 2017: 2500, 2018: 3200, 2019: 1700}
    siptc: list[dict] = []
    for year, base in listings.items():
        k = target("siptc_listings_2018", scale) if year == 2018 else n_of(base, scale)
        last = dt.date(2019, 6, 30) if year == 2019 else None
        for i in range(k):
            listing = _date(rng, year, last)
            period = str(year) if year < 2016 else f"{year}Q{_quarter(listing)}"
            seller, stype = _seller(rng)
            region = rng.choices(["PD", "XH", "MH", "JD", "YP", "SJ", "jiangsu", "zhejiang", "anhui", "other_province",
                                  "overseas"], weights=[14, 8, 8, 6, 6, 5, 12, 10, 5, 20, 6])[0]
            dealt = rng.random() < 0.4 or (year == 2018 and i == 0)
            deal_date = min(listing + dt.timedelta(days=rng.randint(0, 120)), _period_end(period)) if dealt else None
            ttype = rng.choices(["transfer", "license", "pledge", "equity_contribution"], weights=[45, 35, 10, 10])[0]
            weight = rng.lognormvariate(0, 1.0)
            siptc.append({
                "transaction_code": f"SIPTC{year}{i + 1:06d}", "listing_date": listing, "deal_date": deal_date,
                "ip_type": _weighted(rng, IP_TYPES), "transaction_type": ttype, "field": rng.choice(FIELDS),
                "seller": seller, "seller_type": stype, "seller_district": _weighted(rng, DISTRICT_WEIGHTS),
                "buyer": _company(rng, rng.choice(REGION_CITY.get(region, ["Shanghai"]))) if dealt else None,
                "buyer_region": region if dealt else None,
                "listed_price_yuan": Decimal(round(170_000 * weight * rng.uniform(0.9, 1.4) / 100) * 100 + 1000),
                "deal_amount_yuan": Decimal(round(170_000 * weight / 100) * 100 + 100) if dealt else None,
                "net_revenue_yuan": None, "inventor_award_share": None,
                "_weight": weight, "_submitter": "SIPTC", "_period": period,
            })
    deals_2018 = [r for r in siptc if r["deal_date"] and r["deal_date"].year == 2018]
    for r, v in zip(deals_2018, split_total(target("siptc_deal_value_2018", scale), [r["_weight"] for r in deals_2018]),
                    strict=True):
        r["deal_amount_yuan"] = v
        r["listed_price_yuan"] = Decimal(round(int(v) * rng.uniform(1.0, 1.4) / 100) * 100)
    for r in siptc:
        del r["_weight"]
        if r["deal_amount_yuan"] is not None and r["transaction_type"] in ("transfer", "license"):
            r["net_revenue_yuan"] = Decimal(round(int(r["deal_amount_yuan"]) * rng.uniform(0.6, 0.95) / 100) * 100)
            r["inventor_award_share"] = _award(rng, r["seller_type"], r["transaction_type"])
    judged = [r for r in siptc if r["inventor_award_share"] is not None and r["seller_type"] in AWARD_RULE_SELLERS]
    if judged and all(r["inventor_award_share"] >= Decimal("0.7") for r in judged):
        judged[0]["inventor_award_share"] = Decimal("0.6")  # at least one finding however small the sample

    # SHIPA technology-export contracts: to the Yangtze River Delta (the figure) and elsewhere.
    n_exp = target("tech_exports_yrd_count", scale)
    shipa: list[dict] = []
    counter = iter(range(1, 10**7))

    def export(year: int, region: str, last: dt.date | None = None) -> dict:
        listing = _date(rng, year, last)
        deal = min(listing + dt.timedelta(days=rng.randint(0, 60)), last or dt.date(year, 12, 31))
        seller, stype = _seller(rng)
        amount = Decimal(round(5_200_000 * rng.lognormvariate(0, 0.8) / 100) * 100 + 100)
        net = Decimal(round(int(amount) * rng.uniform(0.5, 0.9) / 100) * 100)
        return {"transaction_code": f"TE{year}{next(counter):06d}", "listing_date": listing, "deal_date": deal,
                "ip_type": rng.choice(["invention_patent", "technical_know_how", "software_copyright", "ic_layout_design"]),
                "transaction_type": "technology_export", "field": rng.choice(FIELDS), "seller": seller, "seller_type": stype,
                "seller_district": _weighted(rng, DISTRICT_WEIGHTS), "buyer": _company(rng, rng.choice(REGION_CITY[region])),
                "buyer_region": region, "listed_price_yuan": None, "deal_amount_yuan": amount, "net_revenue_yuan": net,
                "inventor_award_share": _award(rng, stype, "technology_export") if rng.random() < 0.5 else None,
                "_submitter": "SHIPA", "_period": str(year) if last is None else f"{year}Q1"}

    yrd = {"jiangsu": 45, "zhejiang": 35, "anhui": 20}
    for year, k in zip(range(2014, 2019), _spread(n_exp, [380, 480, 600, 780, 1072]), strict=True):
        shipa += [export(year, _weighted(rng, yrd)) for _ in range(k)]
        shipa += [export(year, rng.choice(["other_province", "overseas"])) for _ in range(max(1, round(k * 0.15)))]
    yrd_rows = [r for r in shipa if r["buyer_region"] in yrd]
    for r, v in zip(yrd_rows, split_total(target("tech_exports_yrd_value", scale),
                                          [float(r["deal_amount_yuan"]) for r in yrd_rows]), strict=True):
        r["deal_amount_yuan"] = v
        r["net_revenue_yuan"] = Decimal(round(int(v) * rng.uniform(0.5, 0.9) / 100) * 100)
    shipa += [export(2019, _weighted(rng, yrd), dt.date(2019, 3, 31)) for _ in range(n_of(300, scale))]

    def new_key(row: dict) -> str:
        return f"{row['transaction_code'][:-6]}{900000 + next(counter) % 100000:06d}"

    for sub, rows, styles in (("SIPTC", siptc, ["json", "plain", "gb18030_wan", "xlsx_title", "bom_zh", "unit_column",
                                                   "xlsx_sheets"]),
                              ("SHIPA", shipa, ["plain", "json", "bom_zh", "xlsx_sheets", "gb18030_wan", "unit_column"])):
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            groups[r["_period"]].append(r)
        stem = "listings" if sub == "SIPTC" else "tech_exports"
        part = [FileSpec(sub, "ip_transactions", p, f"{stem}_{sub}_{p}", "plain",
                         _with_invalid(rng, g, "ip_transactions", share, new_key)) for p, g in sorted(groups.items())]
        _rotate(part, styles)
        specs += part
    return specs
