{#- Type 2 on status and total investment (the snapshot); the other attributes are type 1: a live
    facility shows its current canonical values in every version, a closed one its last snapshot values.
    The version in force names the submission in force: a correction that changes neither status nor
    investment opens no version, yet supersedes the submission the version was first seen in. -#}
with

versions as (

    select * from {{ ref('facilities_snapshot') }}

),

current_facilities as (

    select * from {{ ref('int_facilities_published') }}

),

joined as (

    select
        versions.dbt_scd_id,
        versions.facility_code,
        versions.facility_status,
        versions.total_investment_yuan,
        case
            when versions.dbt_valid_to is null
                then coalesce(current_facilities.submitter_code, versions.submitter_code)
            else versions.submitter_code
        end as submitter_code,
        case
            when versions.dbt_valid_to is null
                then coalesce(current_facilities.submission_id, versions.submission_id)
            else versions.submission_id
        end as submission_id,
        versions.dbt_valid_from,
        versions.dbt_valid_to,
        coalesce(current_facilities.facility_name, versions.facility_name) as facility_name,
        coalesce(current_facilities.facility_type, versions.facility_type) as facility_type,
        coalesce(current_facilities.field_code, versions.field_code) as field_code,
        current_facilities.field_submitted,
        coalesce(current_facilities.district_code, versions.district_code) as district_code,
        coalesce(current_facilities.host_institution_name, versions.host_institution_name) as host_institution_name,
        coalesce(current_facilities.construction_start_date, versions.construction_start_date)
            as construction_start_date,
        coalesce(current_facilities.operation_start_date, versions.operation_start_date) as operation_start_date,
        coalesce(current_facilities.original_value_yuan, versions.original_value_yuan) as original_value_yuan,
        coalesce(current_facilities.is_shared, versions.is_shared) as is_shared,
        coalesce(current_facilities.service_hours, versions.service_hours) as service_hours,
        coalesce(current_facilities.external_users_count, versions.external_users_count) as external_users_count
    from versions
    left join current_facilities
        on versions.facility_code = current_facilities.facility_code

),

final as (

    select
        ---------- ids
        dbt_scd_id::text as facility_version_id,
        facility_code::text as facility_code,
        facility_type::text as facility_type,
        field_code::text as field_code,
        district_code::text as district_code,
        submitter_code::text as submitter_code,
        submission_id::bigint as submission_id,

        ---------- attributes
        facility_name::text as facility_name,
        field_submitted::text as field_submitted,
        host_institution_name::text as host_institution_name,
        facility_status::text as facility_status,
        is_shared::boolean as is_shared,
        service_hours::numeric(20, 4) as service_hours,
        external_users_count::bigint as external_users_count,

        ---------- dates
        construction_start_date::date as construction_start_date,
        operation_start_date::date as operation_start_date,

        ---------- money
        total_investment_yuan::numeric(20, 2) as total_investment_yuan,
        original_value_yuan::numeric(20, 2) as original_value_yuan,

        ---------- validity
        dbt_valid_from::timestamp as valid_from,
        dbt_valid_to::timestamp as valid_to,
        (dbt_valid_to is null)::boolean as is_current

    from joined

)

select * from final
