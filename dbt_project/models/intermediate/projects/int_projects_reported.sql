{#- Only rows of published submissions (int_submissions_published), ranked by report precedence. -#}
with

projects as (

    select * from {{ ref('stg_raw__projects') }}

),

published_submissions as (

    select * from {{ ref('int_submissions_published') }}

),

published as (

    select
        projects.*,
        published_submissions.submitter_code,
        published_submissions.reporting_period,
        published_submissions.reporting_year,
        published_submissions.period_start_date,
        published_submissions.period_end_date,
        published_submissions.is_annual,
        published_submissions.channel,
        published_submissions.published_at,
        published_submissions.submitter_type,
        published_submissions.precedence_rank
    from projects
    inner join published_submissions
        on projects.submission_id = published_submissions.submission_id

),

owned as (

    select
        *,
        {{ district_ownership('project_code') }}
    from published

),

claimed as (

    select
        *,
        submitter_type = 'district'
        and submitter_code != coalesce(owner_district_code, submitter_code) as is_other_district_report
    from owned

),

ranked as (

    select
        *,
        {{ row_fingerprint([
            'project_title',
            'project_level',
            'programme_code',
            'field_code',
            'field_submitted',
            'lead_institution_name',
            'lead_institution_type',
            'lead_institution_type_submitted',
            'district_code',
            'joint_with_district_codes',
            'project_status',
            'start_date',
            'end_date',
            'funding_central_yuan',
            'funding_municipal_yuan',
            'funding_district_yuan',
            'funding_self_raised_yuan',
        ]) }} as row_fingerprint,
        row_number() over (
            partition by project_code
            order by {{ report_precedence(district_owned=true) }}
        ) as report_rank,
        row_number() over (
            partition by project_code, submitter_code
            order by {{ submitter_report_order() }}
        ) as submitter_report_rank
    from claimed

),

final as (

    select
        *,
        report_rank = 1 as is_canonical
    from ranked

)

select * from final
