with

projects as (

    select * from {{ ref('int_projects_published') }}

),

final as (

    select
        ---------- ids
        project_code::text as project_code,
        district_code::text as district_code,
        field_code::text as field_code,
        submitter_code::text as submitter_code,
        submission_id::bigint as submission_id,

        ---------- attributes
        project_title::text as project_title,
        project_level::text as project_level,
        programme_code::text as programme_code,
        lead_institution_name::text as lead_institution_name,
        lead_institution_type::text as lead_institution_type,
        project_status::text as project_status,
        reporting_period::text as reporting_period,

        ---------- dates
        start_date::date as start_date,
        end_date::date as end_date,

        ---------- money
        funding_central_yuan::numeric(20, 2) as funding_central_yuan,
        funding_municipal_yuan::numeric(20, 2) as funding_municipal_yuan,
        funding_district_yuan::numeric(20, 2) as funding_district_yuan,
        funding_self_raised_yuan::numeric(20, 2) as funding_self_raised_yuan,
        (
            coalesce(funding_central_yuan, 0) + coalesce(funding_municipal_yuan, 0)
            + coalesce(funding_district_yuan, 0) + coalesce(funding_self_raised_yuan, 0)
        )::numeric(20, 2) as funding_total_yuan

    from projects

)

select * from final
