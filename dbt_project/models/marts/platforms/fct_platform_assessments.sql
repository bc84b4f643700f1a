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
        facilities.facility_name as platform_name,
        -- Item Ten counts a platform's years from its contract (construction) start, not from the
        -- first assessment the warehouse happens to hold
        facilities.construction_start_date as platform_start_date
    from assessments
    left join facilities
        on assessments.platform_code = facilities.facility_code

),

measured as (

    select
        *,
        assessment_year - extract(year from platform_start_date)::integer + 1 as platform_year_number,
        coalesce(max(contract_years) over (partition by platform_code), 3) as platform_contract_years,
        coalesce(municipal_fund_yuan, 0) + coalesce(district_match_yuan, 0) as fiscal_operating_yuan,
        coalesce(municipal_fund_yuan, 0) + coalesce(district_match_yuan, 0) + coalesce(market_revenue_yuan, 0)
            as operating_income_yuan,
        (case when common_tech_services_actual < common_tech_services_target then 1 else 0 end)
        + (case when commercialisation_actual < commercialisation_target then 1 else 0 end)
        + (case when startups_incubated_actual < startups_incubated_target then 1 else 0 end)
        + (case when talent_trained_actual < talent_trained_target then 1 else 0 end)
        + (case when cooperation_actual < cooperation_target then 1 else 0 end) as targets_missed_count
    from joined

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
        platform_start_date::date as platform_start_date,
        platform_year_number::integer as platform_year_number,
        platform_contract_years::integer as contract_years,
        targets_missed_count::integer as targets_missed_count,
        funding_change_reason::text as funding_change_reason,

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
        construction_fund_yuan::numeric(20, 2) as construction_fund_yuan,
        fiscal_operating_yuan::numeric(20, 2) as fiscal_operating_yuan,
        operating_income_yuan::numeric(20, 2) as total_funding_yuan,
        (fiscal_operating_yuan / nullif(operating_income_yuan, 0))::numeric(9, 6) as fiscal_share

    from measured

)

select * from final
