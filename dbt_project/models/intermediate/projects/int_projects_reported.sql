{#- Only rows of published submissions (macro published_rows), ranked by report precedence. -#}
with

{{ published_rows('projects') }},

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
