with

source as (

    select * from {{ source('raw', 'facilities') }}

),

renamed as (

    select
        ---------- lineage
        submission_id,
        load_id,
        source_row_number,
        source_sheet,

        ---------- ids
        facility_code,

        ---------- attributes
        name as facility_name,
        facility_type,
        field as field_code,
        field_submitted,
        district as district_code,
        host_institution as host_institution_name,
        status as facility_status,
        is_shared,
        service_hours::numeric(20, 4) as service_hours,
        external_users::bigint as external_users_count,
        array_to_string(row_warnings, ',') as row_warnings,

        ---------- dates
        construction_start_date,
        operation_start_date,

        ---------- money
        total_investment_yuan::numeric(20, 2) as total_investment_yuan,
        original_value_yuan::numeric(20, 2) as original_value_yuan

    from source

)

select * from renamed
