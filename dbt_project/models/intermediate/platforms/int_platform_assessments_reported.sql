{#- Only rows of published submissions (macro published_rows), ranked by report precedence. -#}
with

{{ published_rows('platform_assessments') }},

ranked as (

    select
        *,
        {{ row_fingerprint([
            'common_tech_services_target',
            'common_tech_services_actual',
            'commercialisation_target',
            'commercialisation_actual',
            'startups_incubated_target',
            'startups_incubated_actual',
            'talent_trained_target',
            'talent_trained_actual',
            'cooperation_target',
            'cooperation_actual',
            'assessment_score',
            'municipal_fund_yuan',
            'district_match_yuan',
            'market_revenue_yuan',
            'construction_fund_yuan',
            'contract_years',
            'funding_change_reason',
        ]) }} as row_fingerprint,
        row_number() over (
            partition by platform_code, assessment_year
            order by {{ report_precedence() }}
        ) as report_rank,
        row_number() over (
            partition by platform_code, assessment_year, submitter_code
            order by {{ submitter_report_order() }}
        ) as submitter_report_rank
    from published

),

final as (

    select
        *,
        report_rank = 1 as is_canonical
    from ranked

)

select * from final
