{#- Every version of every project's canonical record, as reported (the snapshot projects_snapshot): all
    attributes are as of the version, none overlaid with today's values. In force at instant T:
    valid_from <= T and (valid_to is null or valid_to > T) (docs/history.md). -#}
with

versions as (

    select * from {{ ref('projects_snapshot') }}

),

numbered as (

    select
        *,
        row_number() over (partition by project_code order by dbt_valid_from) as version_number
    from versions

),

final as (

    select
        ---------- ids
        dbt_scd_id::text as project_version_id,
        project_code::text as project_code,
        version_number::integer as version_number,
        district_code::text as district_code,
        joint_with_district_codes::text as joint_with_district_codes,
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
        )::numeric(20, 2) as funding_total_yuan,

        ---------- timestamps
        published_at::timestamptz as published_at,

        ---------- validity
        dbt_valid_from::timestamp as valid_from,
        dbt_valid_to::timestamp as valid_to,
        (dbt_valid_to is null)::boolean as is_current

    from numbered

)

select * from final
