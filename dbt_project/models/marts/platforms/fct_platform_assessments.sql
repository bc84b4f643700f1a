with

assessments as (

    select * from {{ ref('int_platform_assessments_published') }}

),

facilities as (

    select * from {{ ref('int_facilities_published') }}

),

joined as (

    select
        assessments.*,
        coalesce(
            facilities.district_code,
            case when assessments.submitter_type = 'district' then assessments.submitter_code end
        ) as platform_district_code,
        facilities.facility_name as platform_name
    from assessments
    left join facilities
        on assessments.platform_code = facilities.facility_code

),

final as (

    select
        ---------- ids
        (platform_code || '|' || assessment_year::text)::text as platform_assessment_id,
        platform_code::text as platform_code,
        assessment_year::integer as assessment_year,
        platform_district_code::text as district_code,
        submitter_code::text as submitter_code,
        submission_id::bigint as submission_id,

        ---------- attributes
        platform_name::text as platform_name,
        reporting_period::text as reporting_period,
        assessment_score::numeric(20, 4) as assessment_score,

        ---------- targets and actuals
        common_tech_services_target::numeric(20, 4) as common_tech_services_target,
        common_tech_services_actual::numeric(20, 4) as common_tech_services_actual,
        commercialisation_target::numeric(20, 4) as commercialisation_target,
        commercialisation_actual::numeric(20, 4) as commercialisation_actual,
        startups_incubated_target::numeric(20, 4) as startups_incubated_target,
        startups_incubated_actual::numeric(20, 4) as startups_incubated_actual,
        talent_trained_target::numeric(20, 4) as talent_trained_target,
        talent_trained_actual::numeric(20, 4) as talent_trained_actual,
        cooperation_target::numeric(20, 4) as cooperation_target,
        cooperation_actual::numeric(20, 4) as cooperation_actual,

        ---------- money
        municipal_fund_yuan::numeric(20, 2) as municipal_fund_yuan,
        district_match_yuan::numeric(20, 2) as district_match_yuan,
        market_revenue_yuan::numeric(20, 2) as market_revenue_yuan,
        (
            coalesce(municipal_fund_yuan, 0) + coalesce(district_match_yuan, 0) + coalesce(market_revenue_yuan, 0)
        )::numeric(20, 2) as total_funding_yuan

    from joined

)

select * from final
