with

source as (

    select * from {{ source('raw', 'projects') }}

),

renamed as (

    select
        ---------- lineage
        submission_id,
        load_id,
        source_row_number,
        source_sheet,

        ---------- ids
        project_code,

        ---------- attributes
        title as project_title,
        level as project_level,
        programme as programme_code,
        field as field_code,
        field_submitted,
        lead_institution as lead_institution_name,
        institution_type as lead_institution_type,
        institution_type_submitted as lead_institution_type_submitted,
        district as district_code,
        joint_with as joint_with_district_codes,
        status as project_status,
        array_to_string(row_warnings, ',') as row_warnings,

        ---------- dates
        start_date,
        end_date,

        ---------- money
        funding_central_yuan::numeric(20, 2) as funding_central_yuan,
        funding_municipal_yuan::numeric(20, 2) as funding_municipal_yuan,
        funding_district_yuan::numeric(20, 2) as funding_district_yuan,
        funding_self_raised_yuan::numeric(20, 2) as funding_self_raised_yuan

    from source

)

select * from renamed
