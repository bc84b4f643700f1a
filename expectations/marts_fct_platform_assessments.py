"""Suite for marts.fct_platform_assessments, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.fct_platform_assessments"
KEY = ["platform_assessment_id"]
COLUMNS = [
    "platform_assessment_id",
    "platform_code",
    "assessment_year",
    "district_code",
    "submitter_code",
    "submission_id",
    "platform_name",
    "reporting_period",
    "assessment_score",
    "platform_start_date",
    "platform_year_number",
    "contract_years",
    "targets_missed_count",
    "funding_change_reason",
    "common_tech_services_target",
    "common_tech_services_actual",
    "commercialisation_target",
    "commercialisation_actual",
    "startups_incubated_target",
    "startups_incubated_actual",
    "talent_trained_target",
    "talent_trained_actual",
    "cooperation_target",
    "cooperation_actual",
    "municipal_fund_yuan",
    "district_match_yuan",
    "market_revenue_yuan",
    "construction_fund_yuan",
    "fiscal_operating_yuan",
    "total_funding_yuan",
    "fiscal_share",
]


def build_suite():
    suite = mart_suite("marts_fct_platform_assessments", TABLE, KEY, COLUMNS)
    return suite
