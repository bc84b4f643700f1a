"""Suite for each new batch of raw.facilities, run before the submission is published."""


from stic.contract.kinds import FACILITIES

from ._common import WARNING, raw_kind_suite, row_rule, submitter_rules


def build_suite():
    suite = raw_kind_suite(FACILITIES, "raw_facilities")
    submitter_rules(suite, FACILITIES)
    row_rule(suite, "status = 'in_operation' and facility_type in "
                              "('national_major_infrastructure', 'functional_platform') and operation_start_date is null",
        WARNING, "operating_without_start", "A facility in operation states when it started operating.")
    row_rule(suite, "facility_type = 'large_instrument' and original_value_yuan is null",
        WARNING, "instrument_without_value", "A large instrument states its original value.")
    return suite
