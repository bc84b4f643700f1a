"""Suite for marts.dim_date, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.dim_date"
KEY = ["date_day"]
COLUMNS = [
    "date_day",
    "year_number",
    "quarter_number",
    "month_number",
    "day_of_month",
    "iso_day_of_week",
    "year_quarter",
    "is_weekend",
]


def build_suite():
    suite = mart_suite("marts_dim_date", TABLE, KEY, COLUMNS)
    return suite
