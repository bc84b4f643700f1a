"""Suite for marts.rpt_innovation_indicators, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.rpt_innovation_indicators"
KEY = ["indicator_id"]
COLUMNS = [
    "indicator_id",
    "year_number",
    "district_code",
    "is_no_data",
    "district_submissions_published",
    "projects_started",
    "national_projects_started",
    "facilities_opened",
    "incubators_opened",
    "instruments_in_service",
    "shared_instruments_in_service",
    "ip_deals",
    "technology_exports",
    "project_funding_yuan",
    "ip_deal_amount_yuan",
    "instrument_value_yuan",
    "platform_municipal_fund_yuan",
    "platform_district_match_yuan",
    "platform_construction_fund_yuan",
]


def build_suite():
    suite = mart_suite("marts_rpt_innovation_indicators", TABLE, KEY, COLUMNS)
    return suite
