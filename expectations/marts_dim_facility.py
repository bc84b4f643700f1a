"""Suite for marts.dim_facility, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.dim_facility"
KEY = ["facility_code", "valid_from"]
COLUMNS = [
    "facility_version_id",
    "facility_code",
    "facility_type",
    "field_code",
    "district_code",
    "submitter_code",
    "submission_id",
    "facility_name",
    "host_institution_name",
    "facility_status",
    "is_shared",
    "service_hours",
    "external_users_count",
    "construction_start_date",
    "operation_start_date",
    "total_investment_yuan",
    "original_value_yuan",
    "valid_from",
    "valid_to",
    "is_current",
]


def build_suite():
    suite = mart_suite("marts_dim_facility", TABLE, KEY, COLUMNS)
    return suite
