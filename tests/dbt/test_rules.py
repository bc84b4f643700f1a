"""The auditors' rules on a real warehouse: control figures as of their dates and without tolerance when
exact, the platform funding rules (Items Ten and Twelve), the award-share floor, reporting-period checks and
indicators without silent zeros. Every expected amount and count below is worked out by hand from the rows
written here, not taken from the SQL under test."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from stic.warehouse import dbt_runner as dbt
from tests.conftest import reset_warehouse
from tests.dbt.test_warehouse import FACILITY_COLUMNS, IP_COLUMNS, PROJECT_COLUMNS, ingest, rows

PLATFORM_OLD_COLUMNS = (  # a file sent before construction money had its own column: operating money only
    "platform_code,assessment_year,common_tech_services_target,common_tech_services_actual,commercialisation_target,"
    "commercialisation_actual,startups_incubated_target,startups_incubated_actual,talent_trained_target,"
    "talent_trained_actual,cooperation_target,cooperation_actual,score,municipal_fund_yuan,district_match_yuan,"
    "market_revenue_yuan"
)
PLATFORM_COLUMNS = PLATFORM_OLD_COLUMNS + ",construction_fund_yuan,contract_years,funding_change_reason"

pytestmark = pytest.mark.slow


def _national(code: str, district: str, start: str = "2018-03-01") -> str:
    return f"{code},National project {code},national_major,national_key_rd,photonics,SJTU,university,{district},{start},,underway,100,,,"


def _figures(conn) -> dict[str, tuple]:
    return {code: (value, n, status) for code, value, n, status in rows(
        conn, "select figure_code, warehouse_value, rows_counted, status from marts.rpt_control_totals")}


@pytest.fixture(scope="module")
def scenario(warehouse_url, tmp_path_factory):
    """Three builds: the first loads; then a later year (2020) arrives; then CM withdraws its national projects."""

    tmp = tmp_path_factory.mktemp("rules-files")
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        reset_warehouse(conn)

    ids = {}
    # 850 national major projects from Pudong and 4 from Chongming: 854, the published figure. Pudong also
    # completes a project after its reporting period ends, and reports one started in 1999.
    ids["pd_projects"] = ingest(tmp, "pd_projects.csv", PROJECT_COLUMNS, [
        *(_national(f"N-PD-{i:03d}", "PD") for i in range(850)),
        "P-LATE,Late finish,municipal,other,photonics,SJTU,university,PD,2018-02-01,2019-02-01,completed,,500,,",
        "P-OLD,Old project,district,other,other,SJTU,university,PD,1999-06-01,,underway,,,100,",
    ], submitter="PD", kind="projects", period="2018")
    ids["cm_projects"] = ingest(tmp, "cm_projects.csv", PROJECT_COLUMNS, [
        *(_national(f"N-CM-{i}", "CM") for i in range(4)),
    ], submitter="CM", kind="projects", period="2018")
    # Platforms: A started 2015 (its 2018 and 2019 are years 4 and 5 of a three-year contract); B started
    # 2018; C started 2017. An infrastructure opened in 2010 and an instrument in service since 2012.
    ids["stcsm_facilities"] = ingest(tmp, "stcsm_fac.csv", FACILITY_COLUMNS, [
        "FP-A,Platform A,functional_platform,integrated_circuits,PD,SITRI,in_operation,2015-03-01,2016-05-01,,,,,",
        "FP-B,Platform B,functional_platform,biomedicine,XH,SIMM,under_construction,2018-06-01,,,,,,",
        "FP-C,Platform C,functional_platform,photonics,YP,Tongji,in_operation,2017-01-01,2018-01-01,,,,,",
        "NMI-1,Old synchrotron,national_major_infrastructure,photonics,PD,SARI,in_operation,2004-12-25,2010-05-06,,,,,",
    ], submitter="STCSM", kind="facilities", period="2018")
    ids["pd_facilities"] = ingest(tmp, "pd_fac.csv", FACILITY_COLUMNS, [
        "F-LATE,Late lab,laboratory,photonics,PD,SJTU,in_operation,2017-01-01,2018-08-01,,,,,",
    ], submitter="PD", kind="facilities", period="2018Q2")
    ids["yrdn"] = ingest(tmp, "yrdn.csv", FACILITY_COLUMNS, [
        "LI-1,Electron microscope,large_instrument,new_materials,PD,Fudan,in_operation,,2012-04-01,,8000000,yes,100,3",
    ], submitter="YRDN", kind="facilities", period="2018")
    # 2018 assessments in the old layout (no construction column): the amounts are operating money.
    ids["shfb_2018"] = ingest(tmp, "shfb_2018.csv", PLATFORM_OLD_COLUMNS, [
        "FP-A,2018,100,100,10,10,5,5,50,50,10,9,88,1000000,1000000,500000",  # cooperation 9 < 10: missed
        "FP-B,2018,100,100,10,10,5,5,50,50,10,5,70,2000000,2500000,0",  # missed, and cut in 2019: as it should be
        "FP-C,2018,100,120,10,12,5,6,50,60,10,10,90,1000000,1200000,300000",  # every target met, score 90
    ], submitter="SHFB", kind="platform_assessments", period="2018")
    ids["shfb_2019"] = ingest(tmp, "shfb_2019.csv", PLATFORM_COLUMNS, [
        "FP-A,2019,100,100,10,10,5,5,50,50,10,10,90,1200000,1300000,400000,,,",
        "FP-B,2019,100,100,10,10,5,5,50,50,10,10,90,2000000,2100000,0,5000000,,",
        "FP-C,2019,100,100,10,10,5,5,50,50,10,10,90,1000000,900000,800000,,,",
    ], submitter="SHFB", kind="platform_assessments", period="2019")
    ids["siptc"] = ingest(tmp, "siptc.csv", IP_COLUMNS, [
        "T-U65,2018-01-10,2018-03-01,invention_patent,transfer,biomedicine,Fudan,university,XH,Acme,jiangsu,100000,100000,100000,0.65",
        "T-U70,2018-01-10,2018-03-01,invention_patent,transfer,biomedicine,Fudan,university,XH,Acme,jiangsu,100000,100000,100000,0.7",
        "T-R50,2018-02-10,2018-04-01,invention_patent,license,photonics,SIOM,research_institute,JD,Beta,PD,50000,40000,30000,0.5",
        "T-E20,2018-02-10,2018-04-01,invention_patent,transfer,photonics,Corp,enterprise,JD,Beta,PD,50000,40000,30000,0.2",
        "T-X30,2018-02-10,2018-04-01,invention_patent,technology_export,photonics,SJTU,university,MH,Gamma,anhui,50000,40000,30000,0.3",
    ], submitter="SIPTC", kind="ip_transactions", period="2018")
    dbt.run(["build"], quiet=True)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        first = _figures(conn)

    # A later year: new projects, a new infrastructure and new listings, all in 2020.
    ids["pd_2020"] = ingest(tmp, "pd_2020.csv", PROJECT_COLUMNS, [
        _national("N-PD-2020-1", "PD", "2020-02-01"), _national("N-PD-2020-2", "PD", "2020-03-01"),
    ], submitter="PD", kind="projects", period="2020")
    ids["shdrc_2020"] = ingest(tmp, "shdrc_2020.csv", FACILITY_COLUMNS, [
        "NMI-2020,New facility,national_major_infrastructure,energy,PD,SARI,under_construction,2020-03-01,,,,,,",
    ], submitter="SHDRC", kind="facilities", period="2020")
    ids["siptc_2020"] = ingest(tmp, "siptc_2020.csv", IP_COLUMNS, [
        "T-2020,2020-01-05,2020-02-01,invention_patent,transfer,biomedicine,Fudan,university,XH,Acme,jiangsu,1000,900,800,0.8",
    ], submitter="SIPTC", kind="ip_transactions", period="2020")
    dbt.run(["build"], quiet=True)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        later = _figures(conn)

    # Chongming corrects its 2018 file: its four national projects were booked wrongly and are withdrawn.
    ids["cm_projects_2"] = ingest(tmp, "cm_projects_2.csv", PROJECT_COLUMNS, [
        "D-CM-1,District project,district,other,other,SHU,university,CM,2018-05-01,,underway,,,100,",
    ], submitter="CM", kind="projects", period="2018")
    dbt.run(["build"], quiet=True)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        withdrawn = _figures(conn)
    return {"ids": ids, "first": first, "later": later, "withdrawn": withdrawn}


@pytest.fixture()
def wh(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        yield conn


def test_every_submission_was_published(scenario):
    assert {k: v[1] for k, v in scenario["ids"].items()} == {k: "published" for k in scenario["ids"]}


def test_854_matches_and_its_rows_name_their_submissions(scenario, wh):
    assert scenario["first"]["national_major_projects_2019"] == (Decimal("854.00"), 854, "match")
    by_submission = dict(rows(wh, "select submission_id, count(*) from marts.rpt_control_total_rows "
                                  "where figure_code = 'national_major_projects_2019' group by 1"))
    # after the correction, Chongming's rows are gone from the drill-down; Pudong's 850 (2018) remain
    assert by_submission == {scenario["ids"]["pd_projects"][0]: 850}


def test_a_small_district_missing_turns_an_exact_figure_off(scenario):
    # 850 of 854 is 0.5 % short: within the old 5 % tolerance, but an exact figure has none
    assert scenario["withdrawn"]["national_major_projects_2019"] == (Decimal("850.00"), 850, "off")


def test_a_later_year_leaves_the_2018_and_2019_figures_unchanged(scenario):
    assert scenario["later"] == scenario["first"]
    assert scenario["first"]["national_major_infrastructure_2019"][:2] == (Decimal("1.00"), 1)  # NMI-1, not NMI-2020
    assert scenario["first"]["ip_centre_listings_2018"][:2] == (Decimal("5.00"), 5)
    # 100000 + 100000 + 40000 + 40000 + 40000 (T-2020's 900 yuan is a 2020 deal)
    assert scenario["first"]["ip_centre_transaction_value_2018"][:2] == (Decimal("320000.00"), 5)
    assert scenario["first"]["functional_platforms_started_2019"][:2] == (Decimal("3.00"), 3)


def test_platform_findings_follow_items_ten_and_twelve(scenario, wh):
    found = {r[0]: r[1:] for r in rows(wh, """
        select platform_finding_id, rule_code, severity, compared_year, platform_year_number,
               municipal_fund_yuan, district_match_yuan, fiscal_operating_yuan, compared_fiscal_operating_yuan
        from marts.rpt_platform_funding_findings""")}
    assert found == {
        # A, year 5 of 3: operating money 2,000,000 -> 2,500,000 and share 2.0/2.5 = 0.8 -> 2.5/2.9 = 0.862
        "FP-A|2019|fiscal_operating_rising": ("item_ten_diminishing", "warning", 2018, 5,
                                              Decimal("1200000.00"), Decimal("1300000.00"),
                                              Decimal("2500000.00"), Decimal("2000000.00")),
        "FP-A|2019|fiscal_share_rising": ("item_ten_diminishing", "warning", 2018, 5,
                                          Decimal("1200000.00"), Decimal("1300000.00"),
                                          Decimal("2500000.00"), Decimal("2000000.00")),
        # A missed a target in 2018, yet 2019 money rose
        "FP-A|2018|assessment_missed_funding_not_reduced": ("item_twelve", "finding", 2019, 4,
                                                            Decimal("1000000.00"), Decimal("1000000.00"),
                                                            Decimal("2000000.00"), Decimal("2500000.00")),
        # C met every target in 2018 and was cut from 2,200,000 to 1,900,000 with no reason
        "FP-C|2018|well_assessed_funding_cut": ("item_twelve", "info", 2019, 2,
                                                Decimal("1000000.00"), Decimal("1200000.00"),
                                                Decimal("2200000.00"), Decimal("1900000.00")),
        # C's district operating money 900,000 is below the city's 1,000,000
        "FP-C|2019|district_operating_match_below_city": ("item_ten_funds", "finding", None, 3,
                                                          Decimal("1000000.00"), Decimal("900000.00"),
                                                          Decimal("1900000.00"), None),
    }  # B: 2,100,000 district against 2,000,000 city (its 5,000,000 construction money is outside the rule)
    (text,) = {r[0] for r in rows(wh, "select guideline_text from marts.rpt_platform_funding_findings "
                                      "where rule_code = 'item_ten_funds'")}
    assert "the funds from the district government should not be lower than the fiscal investment" in text


def test_old_platform_rows_count_as_operating_money(scenario, wh):
    funding = rows(wh, "select funding_source, amount_yuan from marts.fct_platform_funding "
                       "where platform_code = 'FP-B' order by assessment_year, funding_source")
    assert funding == [("district", Decimal("2500000.00")), ("market", Decimal("0.00")),
                       ("municipal", Decimal("2000000.00")),
                       ("district", Decimal("2100000.00")), ("market", Decimal("0.00")),
                       ("municipal", Decimal("2000000.00")), ("municipal_construction", Decimal("5000000.00"))]


def test_award_share_floor_for_universities_and_institutes(scenario, wh):
    assert rows(wh, "select transaction_code, inventor_award_share, award_yuan, floor_award_yuan "
                    "from marts.rpt_award_share_findings order by 1") == [
        ("T-R50", Decimal("0.500000"), Decimal("15000.00"), Decimal("21000.00")),
        ("T-U65", Decimal("0.650000"), Decimal("65000.00"), Decimal("70000.00")),
    ]


def test_reporting_period_warnings(scenario, wh):
    assert rows(wh, "select period_finding_id, checked_date::text from marts.rpt_period_consistency order by 1") == [
        ("facilities|F-LATE|operation_start_after_period", "2018-08-01"),
        ("projects|P-LATE|completed_end_after_period", "2019-02-01"),
        ("projects|P-OLD|start_before_floor", "1999-06-01"),
    ]


def test_indicators_cover_every_year_of_the_data_and_say_no_data(scenario, wh):
    years = [r[0] for r in rows(wh, "select distinct year_number from marts.rpt_innovation_indicators order by 1")]
    assert years == list(range(1999, 2021))  # P-OLD's 1999 to the 2020 submissions
    ind = {r[0]: r[1:] for r in rows(wh, """
        select indicator_id, is_no_data, projects_started, facilities_opened, instruments_in_service,
               instrument_value_yuan
        from marts.rpt_innovation_indicators where indicator_id in ('2010|PD', '2012|PD', '2018|HK', '2018|PD')""")}
    assert ind["2010|PD"] == (False, 0, 1, 0, Decimal("0.00"))  # NMI-1 opened in 2010, before dim_date used to start
    assert ind["2012|PD"] == (False, 0, 0, 1, Decimal("8000000.00"))  # the instrument is not a facility opened
    assert ind["2018|HK"] == (True, None, None, None, None)  # Hongkou sent nothing: unknown, not 0
    # 850 national + P-LATE (P-OLD started 1999); the corrected CM file is Chongming's, not Pudong's
    assert ind["2018|PD"][:2] == (False, 851)


def test_the_summary_counts_findings_per_rule_and_the_site_quotes_the_guideline(scenario, tmp_path):
    from stic.reports import site, summary

    collected = summary.collect()
    assert {r["finding"]: r["count"] for r in collected["findings"]} == {
        "district_operating_match_below_city": 1, "fiscal_operating_rising": 1, "fiscal_share_rising": 1,
        "assessment_missed_funding_not_reduced": 1, "well_assessed_funding_cut": 1, "award_share_below_0_7": 2,
        "completed_end_after_period": 1, "operation_start_after_period": 1, "start_before_floor": 1}
    assert "Findings per rule" in summary.render(collected)
    text = site.build_site(tmp_path / "site").read_text(encoding="utf-8")
    assert 'id="findings-by-rule"' in text and 'id="findings-table"' in text
    assert "the funds from the district government should not be lower than the fiscal investment" in text
    assert "70 percent of net revenues" in text
    assert "Currently it has undertaken 854 research national level major research projects." in text
