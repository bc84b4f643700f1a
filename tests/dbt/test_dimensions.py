"""Bilingual dimensions: one source (codelists.yml, calendar.yml) for every seed, and the dimensions built from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from stic import pipeline
from stic.contract import codes, seeds
from stic.contract.kinds import AGENCY_KINDS, DISTRICT_KINDS
from stic.warehouse import dbt_runner as dbt
from tests.conftest import reset_warehouse

DIMENSIONS = {  # model -> (code list, key column)
    "dim_programme": ("programme", "programme_code"),
    "dim_project_level": ("project_level", "project_level_code"),
    "dim_facility_type": ("facility_type", "facility_type_code"),
    "dim_ip_type": ("ip_type", "ip_type_code"),
    "dim_transaction_type": ("transaction_type", "transaction_type_code"),
    "dim_institution_type": ("institution_type", "institution_type_code"),
}


# ------------------------------------------------------------------------------------- one source
def test_every_seed_agrees_with_the_reference_files():
    assert seeds.check() == []


@pytest.mark.parametrize(("seed", "line", "old", "new"), [
    ("code_labels.csv", "programme,national_2030,", "科技创新2030重大项目", "科技创新2030"),
    ("districts.csv", "PD,", "浦东新区", "浦东"),
    ("fields.csv", "marine,", "Marine", "Ocean"),
    ("submitters.csv", "SHFB,", "市财政局", "财政局"),
    ("submission_calendar.csv", "SIPTC,", "quarterly", "yearly"),
])
def test_a_seed_edited_by_hand_is_caught(tmp_path, seed, line, old, new):
    copy = tmp_path / "seeds"
    shutil.copytree(seeds.seeds_dir(), copy)
    path = copy / seed
    text = path.read_text(encoding="utf-8").splitlines()
    i = next(n for n, t in enumerate(text) if t.startswith(line))
    text[i] = text[i].replace(old, new)
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    problems = seeds.check(copy)
    assert len(problems) == 1
    assert seed in problems[0] and f"line {i + 1}" in problems[0] and new in problems[0]
    assert "stic seeds" in problems[0]
    seeds.write(copy)
    assert seeds.check(copy) == []


def test_the_calendar_asks_each_submitter_for_exactly_the_kinds_it_may_send():
    got: dict[str, set[str]] = {}
    for e in seeds.calendar_entries():
        got.setdefault(e["submitter_code"], set()).add(e["submission_kind"])
    for district in codes.codes("district"):
        assert got.pop(district) == set(DISTRICT_KINDS), district
    assert got == {a: set(k) for a, k in AGENCY_KINDS.items()}


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["agencies"]["SHFB"].update(projects="yearly"), "SHFB may not send projects"),
    (lambda c: c["districts"].update(platform_assessments="quarterly"), "assessed once a year"),
    (lambda c: c["agencies"].update(NOPE={"projects": "yearly"}), "unknown agency 'NOPE'"),
    (lambda c: c["agencies"]["SHTO"].update(projects="monthly"), "frequency 'monthly'"),
    (lambda c: c["agencies"]["SHTO"].update(projects={"frequency": "yearly", "first_year": 2020}),
     "first_year 2020 is after last_year 2019"),
])
def test_a_wrong_calendar_is_refused_with_the_entry_named(change, message):
    from importlib import resources

    import yaml

    data = yaml.safe_load(resources.files("stic").joinpath("contract/reference/calendar.yml").read_text(encoding="utf-8"))
    change(data)
    with pytest.raises(seeds.CalendarError, match=message):
        seeds.calendar_entries(data)


# ------------------------------------------------------------------------------------- the dimensions
PROJECTS = (
    "project_code,title,level,programme,field,lead_institution,institution_type,district,start_date,end_date,status\n"
    "P-1,Chips,national_major,zhangjiang_science_city,integrated_circuits,复旦大学,university,PD,2018-01-01,,underway\n"
    "P-2,Brains,municipal,other,brain_science,复旦大学 ,高校,PD,2018-02-01,,planned\n"
    "P-3,Quanta,municipal,other,quantum_information,ＦＵＤＡＮ University,university,PD,2018-02-01,,planned\n"
    "P-4,Cells,municipal,other,biomedicine,Fudan university,university,PD,2018-02-01,,planned\n"
)
IP = (
    "transaction_code,listing_date,deal_date,ip_type,transaction_type,field,seller,seller_type,seller_district,"
    "buyer,buyer_region,listed_price_yuan,deal_amount_yuan,net_revenue_yuan,inventor_award_share\n"
    "T-1,2018-01-10,2018-03-01,invention_patent,transfer,biomedicine,Fudan University,university,XH,"
    "Acme Ltd.,jiangsu,100,90,80,0.8\n"
)


@pytest.fixture(scope="module")
def built(warehouse_url, tmp_path_factory):
    tmp: Path = tmp_path_factory.mktemp("dim-files")
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        reset_warehouse(conn)
    (tmp / "p.csv").write_text(PROJECTS, encoding="utf-8")
    (tmp / "ip.csv").write_text(IP, encoding="utf-8")
    assert pipeline.ingest_file(tmp / "p.csv", submitter="PD", kind="projects", period="2018").status == "published"
    assert pipeline.ingest_file(tmp / "ip.csv", submitter="SIPTC", kind="ip_transactions",
                                period="2018").status == "published"
    dbt.run(["build", "--select", "+path:models/marts/dimensions", "--indirect-selection", "cautious"], quiet=True)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn


@pytest.mark.parametrize("model", sorted(DIMENSIONS))
@pytest.mark.slow
def test_a_code_dimension_has_every_code_with_both_names(built, model):
    codelist, key = DIMENSIONS[model]
    got = {r[0]: r[1:] for r in built.execute(f"select {key}, name_en, name_zh from marts.{model}")}
    assert got == {c: (e["en"], e["zh"]) for c, e in codes.entries(codelist).items()}


@pytest.mark.slow
def test_statuses_are_keyed_by_list_and_code(built):
    got = {(r[0], r[1]): r[2] for r in built.execute("select status_list, status_code, name_zh from marts.dim_status")}
    assert got[("project_status", "planned")] == "计划" and got[("facility_status", "planned")] == "规划"
    assert len(got) == len(codes.codes("project_status")) + len(codes.codes("facility_status"))


@pytest.mark.slow
def test_regions_are_the_districts_the_delta_provinces_other_provinces_and_overseas(built):
    got = {r[0]: r[1:] for r in built.execute("select region_code, region_type, name_zh from marts.dim_region")}
    assert got["PD"] == ("shanghai_district", "浦东新区")
    assert got["jiangsu"] == ("yrd_province", "江苏") and got["anhui"][0] == "yrd_province"
    assert got["other_province"][0] == "other_province" and got["overseas"] == ("overseas", "境外")
    assert set(got) == set(codes.codes("region"))  # exactly the codes a buyer_region can hold


@pytest.mark.slow
def test_an_institution_is_one_row_with_every_name_it_was_reported_under(built):
    rows = {r[0]: r[1:] for r in built.execute(
        "select normalised_name, institution_name, reported_names, institution_type_code, institution_type_name_zh, "
        "is_lead_institution, is_seller, is_buyer, rows_reported from marts.dim_institution")}
    assert set(rows) == {"复旦大学", "fudanuniversity", "acmeltd"}
    # the Chinese name with and without a trailing space is one institution, typed 高校 / university alike
    assert rows["复旦大学"] == ("复旦大学", "复旦大学", "university", "高校", True, False, False, 2)
    # the English spellings (case, full-width letters) are another; the seller is the same institution
    names = set(rows["fudanuniversity"][1].split(" | "))
    assert {"Fudan University", "Fudan university"} <= names and len(names) == 3
    assert rows["fudanuniversity"][4:] == (True, True, False, 3)
    assert rows["acmeltd"][0] == "Acme Ltd." and rows["acmeltd"][4:] == (False, False, True, 1)
