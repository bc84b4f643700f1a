"""The sample generator: deterministic, every file reads back as the manifest says, and at scale 1 the
published rows reproduce the control figures of DOMAIN.md. No database needed."""

from __future__ import annotations

import datetime as dt
import json
import time
import unicodedata
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from stic.contract.kinds import KINDS, check_submission
from stic.dev import sample as g
from stic.load import ParseOutcome, check_file, parse_rows

SMALL = 0.05


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, g.Manifest]:
    out = tmp_path_factory.mktemp("gen") / "incoming"
    return out, g.generate(out, scale=SMALL, seed=42)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes(tmp_path, small):
    out, _ = small
    again = g.generate(tmp_path / "again", scale=SMALL, seed=42)
    assert _tree(out) == _tree(tmp_path / "again")
    g.generate(tmp_path / "other", scale=SMALL, seed=43)
    assert _tree(tmp_path / "other") != _tree(out)
    assert again.valid_rows == small[1].valid_rows


def test_small_scale_is_quick(tmp_path):
    t = time.perf_counter()
    g.build.cache_clear()
    g.generate(tmp_path / "quick", scale=SMALL, seed=5)
    assert time.perf_counter() - t < 2.0


def test_all_kinds_formats_and_submission_rules(small):
    out, m = small
    assert set(m.valid_rows) == set(KINDS)
    assert all(v > 0 for v in m.valid_rows.values())
    assert {f["style"] for f in m.files} == set(g.STYLES)
    for f in m.files:
        submitter, kind, period, name = f["path"].split("/")
        assert (submitter, kind, period) == (f["submitter"], f["kind"], f["period"])
        check_submission(submitter, kind, period)  # raises if the submitter may not send this
        assert (out / f["path"]).is_file()
    manifest = json.loads((out.parent / "generated-manifest.json").read_text(encoding="utf-8"))
    assert manifest["valid_rows"] == m.valid_rows and manifest["control_figures"]


def test_every_file_reads_back_with_the_manifest_counts(small):
    out, m = small
    for f in m.files:
        o = check_file(out / f["path"], f["kind"])
        if f["status"] == "rejected":
            assert o.rejected_rule == "missing_columns", (f["path"], o.rejected)
            continue
        assert o.rejected is None, (f["path"], o.rejected)
        assert (o.rows_loaded, o.rows_quarantined) == (f["valid_rows"], f["invalid_rows"]), (f["path"], o.problems[:3])
        rules = Counter(p["rule"] for p in o.problems)
        assert rules == Counter(f["broken_rules"]), f["path"]  # exactly one rule broken per invalid row
        assert sum(1 for w in o.warnings if w["rule"] == "award_share_below_floor") == f["warning_rows"], f["path"]


def _same(expected, got) -> bool:
    if expected is None or got is None:
        return expected is None and got is None
    if isinstance(expected, bool):
        return got is expected
    if isinstance(expected, int | Decimal):
        return Decimal(got) == Decimal(expected)
    if isinstance(expected, dt.date):
        return got == expected
    return unicodedata.normalize("NFKC", str(expected)).strip() == got


def test_values_survive_every_style_exactly(small):
    """Amounts in 万元 with separators, Chinese labels, dates as 2018年6月5日, text numbers in XLSX: the
    normalised values equal the generated ones, to the fen."""
    out, m = small
    specs = {s.rel_path: s for s in g.build(SMALL, 42)[0]}
    checked = Counter()
    for f in m.files:
        if f["status"] == "rejected":
            continue
        spec = specs[f["path"]]
        kind = KINDS[f["kind"]]
        expected = {r[kind.key]: r for r in spec.rows if not r.get("_broken")}
        got = {v[kind.key]: v for _, _, v, _ in parse_rows(out / f["path"], kind, ParseOutcome())}
        assert got.keys() == expected.keys(), f["path"]
        for key, row in expected.items():
            for col in kind.column_names:
                assert _same(row.get(col), got[key][col]), (f["path"], key, col, row.get(col), got[key][col])
        checked[f["style"]] += 1
    assert set(checked) == set(g.STYLES)


def test_manifest_counts_published_rows_rejections_and_the_correction(small):
    out, m = small
    published = [f for f in m.files if f["status"] == "published"]
    for kind in KINDS:
        assert m.valid_rows[kind] == sum(f["valid_rows"] for f in published if f["kind"] == kind)
        assert m.valid_rows[kind] == len(g.rows_for(kind, SMALL, 42))
        assert m.invalid_rows[kind] == sum(f["invalid_rows"] for f in m.files if f["kind"] == kind)
    assert len(m.rejected_files) == 1 and m.rejected_files[0]["path"].startswith("CM/facilities/")
    (c,) = m.corrections
    assert c["superseded"] < c["by"] and c["by"].endswith("_v2.csv")
    assert c["superseded"].rsplit("/", 1)[0] == c["by"].rsplit("/", 1)[0]
    first = check_file(out / c["superseded"], "projects")
    second = check_file(out / c["by"], "projects")
    assert first.rows_quarantined > 0 and second.rows_quarantined == 0
    assert second.rows_loaded > first.rows_loaded
    total = sum(f["rows"] for f in m.files if f["status"] != "rejected")
    assert 0.005 < sum(m.invalid_rows.values()) / total < 0.03
    assert m.findings == g.intended_findings(SMALL, 42)
    assert set(m.findings) == {
        "district_operating_match_below_city", "fiscal_operating_rising", "fiscal_share_rising",
        "assessment_missed_funding_not_reduced", "well_assessed_funding_cut", "award_share_below_0_7",
        "completed_end_after_period", "operation_start_after_period", "start_before_floor"}


def _platform_rules(rows: dict, starts: dict) -> dict[str, set[str]]:
    """The guideline's rules written out again, plainly, over the generated rows (not the generator's code)."""
    out: dict[str, set[str]] = {}

    def fiscal(r):
        return r["municipal_fund_yuan"] + r["district_match_yuan"]

    def share(r):
        return fiscal(r) / (fiscal(r) + r["market_revenue_yuan"])

    def passed(r):
        met = all(r[f"{i}_actual"] >= r[f"{i}_target"] for i, _ in g.ITEMS)
        return met and r["score"] >= 60

    for (code, year), r in rows.items():
        if r["district_match_yuan"] < r["municipal_fund_yuan"]:
            out.setdefault("district_operating_match_below_city", set()).add(f"{code}|{year}")
        before, after = rows.get((code, year - 1)), rows.get((code, year + 1))
        contract = max((x["contract_years"] or 3) for (c, _), x in rows.items() if c == code)
        if before and year - starts[code].year + 1 > contract:
            if fiscal(r) > fiscal(before):
                out.setdefault("fiscal_operating_rising", set()).add(f"{code}|{year}")
            if share(r) > share(before):
                out.setdefault("fiscal_share_rising", set()).add(f"{code}|{year}")
        if after and not passed(r) and fiscal(after) >= fiscal(r):
            out.setdefault("assessment_missed_funding_not_reduced", set()).add(f"{code}|{year}")
        if after and passed(r) and fiscal(after) < fiscal(r) and not after["funding_change_reason"]:
            out.setdefault("well_assessed_funding_cut", set()).add(f"{code}|{year}")
    return out


def test_platform_rules_find_exactly_what_was_planted():
    rows = {(r["platform_code"], r["assessment_year"]): r for r in g.rows_for("platform_assessments", SMALL, 42)}
    assert {r["_submitter"] for r in rows.values()} == {"SHFB"}
    starts = {r["facility_code"]: r["construction_start_date"] for r in g.rows_for("facilities", SMALL, 42)
              if r["facility_type"] == "functional_platform"}
    planted = {k: set(v) for k, v in g.build(SMALL, 42)[1].items()}
    assert _platform_rules(rows, starts) == planted
    assert {k: len(v) for k, v in planted.items()} == {
        "district_operating_match_below_city": 3, "fiscal_operating_rising": 2, "fiscal_share_rising": 2,
        "assessment_missed_funding_not_reduced": 3, "well_assessed_funding_cut": 2}
    # construction money is there (outside the match) and a platform with a five-year contract rises unflagged
    assert any(r["construction_fund_yuan"] and r["district_match_yuan"] < r["municipal_fund_yuan"] + r["construction_fund_yuan"]
               for r in rows.values())
    assert rows[("FP2018-09", 2019)]["contract_years"] == 5


def test_planted_period_warnings_and_award_shares():
    found = g.period_findings(SMALL, 42)
    assert {k: len(v) for k, v in found.items()} == {
        "completed_end_after_period": 2, "operation_start_after_period": 1, "start_before_floor": 2}
    ip = g.rows_for("ip_transactions", SMALL, 42)
    judged = [r for r in ip if r["transaction_type"] in ("transfer", "license")
              and r["seller_type"] in ("university", "research_institute") and r["inventor_award_share"] is not None]
    below = g.award_findings(SMALL, 42)
    assert below and len(below) < 0.06 * len(judged)
    assert sorted(r["transaction_code"] for r in judged if r["inventor_award_share"] < Decimal("0.7")) == below


def test_a_district_books_only_its_own_rows():
    for s in g.build(SMALL, 42)[0]:
        if s.submitter in g.DISTRICTS and s.kind in ("projects", "facilities") and s.status != "rejected":
            assert {r["district"] for r in s.rows if r.get("_broken") != "code_list"} == {s.submitter}, s.rel_path


def test_listings_and_exports_do_not_overlap():
    ip = g.rows_for("ip_transactions", SMALL, 42)
    assert not [r for r in ip if r["_submitter"] == "SIPTC" and r["transaction_type"] == "technology_export"]
    assert {r["transaction_type"] for r in ip if r["_submitter"] == "SHIPA"} == {"technology_export"}
    shares = [r["inventor_award_share"] for r in ip if r["inventor_award_share"] is not None]
    assert all(Decimal("0.3") <= s <= Decimal("0.95") for s in shares)


def test_control_figures_at_small_scale_match_the_manifest(small):
    _, m = small
    figures = g.control_figures(SMALL, 42)
    for name, v in figures.items():
        assert v == g.target(name, SMALL), name
        assert m.control_figures[name]["value"] == (str(v) if isinstance(v, Decimal) else v)


@pytest.mark.slow
def test_scale_1_reproduces_the_published_figures():
    figures = g.control_figures(1.0, 42)
    assert figures == {
        "siptc_listings_2018": 3_200,
        "siptc_deal_value_2018": Decimal("218400000.00"),
        "tech_exports_yrd_count": 3_312,
        "tech_exports_yrd_value": Decimal("17300000000.00"),
        "national_major_infrastructure": 14,
        "national_major_projects": 854,
        "foreign_rd_centers_2018": 441,
        "incubators_2019": 612,
        "large_instruments_units": 45_120,
        "large_instruments_value": Decimal("51930000000.00"),
        "functional_platforms_2018": 18,
        "zhangjiang_first_round_started": 73,
        "zhangjiang_first_round_completed": 32,
        "functional_platforms_started_2019": 16,
        "municipal_major_st_projects": 8,
        "municipal_major_st_local_money": Decimal("4120000000.00"),
        "national_major_science_2014_2018": 11,
    }
    infra = [r for r in g.rows_for("facilities", 1.0, 42) if r["facility_type"] == "national_major_infrastructure"]
    assert {r["_submitter"] for r in infra} == {"SHDRC"}
    assert any("X-ray" in r["name"] and r["district"] == "PD" for r in infra)


@pytest.mark.slow
def test_scale_1_writes_in_time_and_instruments_dominate(tmp_path):
    t = time.perf_counter()
    m = g.generate(tmp_path / "incoming", scale=1.0, seed=42)
    assert time.perf_counter() - t < 30
    assert m.valid_rows["facilities"] > 45_120
    big = [f for f in m.files if f["submitter"] == "YRDN"]
    assert len(big) <= 8 and all(f["rows"] > 2_000 for f in big)
    for f in m.files:  # every file of the full sample reads back as the manifest says
        o = check_file(tmp_path / "incoming" / f["path"], f["kind"])
        if f["status"] == "rejected":
            assert o.rejected_rule == "missing_columns", f["path"]
        else:
            assert (o.rows_loaded, o.rows_quarantined) == (f["valid_rows"], f["invalid_rows"]), f["path"]
