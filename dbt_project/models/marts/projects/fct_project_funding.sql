with

projects as (

    select * from {{ ref('fct_projects') }}

),

unpivoted as (

    select
        projects.project_code,
        projects.district_code,
        projects.field_code,
        projects.project_level,
        projects.submitter_code,
        projects.submission_id,
        projects.start_date,
        sources.funding_source,
        sources.amount_yuan
    from projects
    cross join
        lateral (
            values
            ('central', projects.funding_central_yuan),
            ('municipal', projects.funding_municipal_yuan),
            ('district', projects.funding_district_yuan),
            ('self_raised', projects.funding_self_raised_yuan)
        ) as sources (funding_source, amount_yuan)
    where sources.amount_yuan is not null

),

final as (

    select
        ---------- ids
        (project_code || '|' || funding_source)::text as project_funding_id,
        project_code::text as project_code,
        funding_source::text as funding_source,
        district_code::text as district_code,
        field_code::text as field_code,
        submitter_code::text as submitter_code,
        submission_id::bigint as submission_id,

        ---------- attributes
        project_level::text as project_level,

        ---------- dates
        start_date::date as start_date,

        ---------- money
        amount_yuan::numeric(20, 2) as amount_yuan

    from unpivoted

)

select * from final
