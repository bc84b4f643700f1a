"""Suite for marts.dim_submitter, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.dim_submitter"
KEY = ["submitter_code"]
COLUMNS = [
    "submitter_code",
    "submitter_type",
    "submitter_name_en",
    "submitter_name_zh",
    "precedence_rank",
    "is_district",
]


def build_suite():
    suite = mart_suite("marts_dim_submitter", TABLE, KEY, COLUMNS)
    return suite
