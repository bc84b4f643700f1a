"""Suite for marts.dim_facility, run after each warehouse build."""

from ._common import mart_suite

TABLE = "marts.dim_facility"


def build_suite():
    # A version is a facility code from a date on: the contract keys it by the snapshot's id instead.
    suite = mart_suite(TABLE, key=["facility_code", "valid_from"])
    return suite
