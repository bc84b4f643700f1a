{#- Only rows of published submissions (macro published_rows), ranked by report precedence. -#}
with

{{ published_rows('facilities') }},

owned as (

    select
        *,
        {{ district_ownership('facility_code') }}
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
            'facility_name',
            'facility_type',
            'field_code',
            'field_submitted',
            'district_code',
            'host_institution_name',
            'facility_status',
            'construction_start_date',
            'operation_start_date',
            'total_investment_yuan',
            'original_value_yuan',
            'is_shared',
            'service_hours',
            'external_users_count',
        ]) }} as row_fingerprint,
        row_number() over (
            partition by facility_code
            order by {{ report_precedence(district_owned=true) }}
        ) as report_rank,
        row_number() over (
            partition by facility_code, submitter_code
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
