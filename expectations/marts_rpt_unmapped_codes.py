"""Suite for marts.rpt_unmapped_codes, run after each warehouse build."""

import great_expectations.expectations as gxe

from ._common import CRITICAL, add, mart_suite

TABLE = "marts.rpt_unmapped_codes"


def build_suite():
    suite = mart_suite(TABLE)
    add(suite, gxe.ExpectColumnValuesToBeInSet(column="column_name", value_set=["field", "institution_type", "seller_type"]),
        CRITICAL, "code_list", "Only classifying code columns are listed; identifying codes stay critical.")
    add(suite, gxe.ExpectColumnValuesToBeBetween(column="row_count", min_value=1), CRITICAL, "row_count",
        "Every listed value was submitted at least once.")
    return suite
