with

source as (

    select * from {{ source('raw', 'platform_assessments') }}

),

renamed as (

    select
        ---------- lineage
        submission_id,
        load_id,
        source_row_number,
        source_sheet,

        ---------- ids
        platform_code,
        assessment_year::integer as assessment_year,

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
        score::numeric(20, 4) as assessment_score,
        contract_years::integer as contract_years,
        nullif(trim(funding_change_reason), '') as funding_change_reason,
        array_to_string(row_warnings, ',') as row_warnings,

        ---------- money
        municipal_fund_yuan::numeric(20, 2) as municipal_fund_yuan,
        district_match_yuan::numeric(20, 2) as district_match_yuan,
        market_revenue_yuan::numeric(20, 2) as market_revenue_yuan,
        construction_fund_yuan::numeric(20, 2) as construction_fund_yuan

    from source

)

select * from renamed
