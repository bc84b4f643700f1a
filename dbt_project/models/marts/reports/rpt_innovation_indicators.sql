with

districts as (

    select * from {{ ref('dim_district') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

projects as (

    select * from {{ ref('fct_projects') }}

),

facilities as (

    select * from {{ ref('dim_facility') }}
    where is_current

),

ip_transactions as (

    select * from {{ ref('fct_ip_transactions') }}

),

platform_assessments as (

    select * from {{ ref('fct_platform_assessments') }}

),

years as (

    select distinct year_number
    from dates
    where year_number <= extract(year from current_date)

),

project_metrics as (

    select
        district_code,
        extract(year from start_date)::integer as year_number,
        count(*) as projects_started,
        count(*) filter (where project_level in ('national_major', 'national_key')) as national_projects_started,
        sum(
            coalesce(funding_central_yuan, 0) + coalesce(funding_municipal_yuan, 0)
            + coalesce(funding_district_yuan, 0) + coalesce(funding_self_raised_yuan, 0)
        ) as project_funding_yuan
    from projects
    group by 1, 2

),

facility_metrics as (

    select
        district_code,
        extract(year from operation_start_date)::integer as year_number,
        count(*) as facilities_opened,
        count(*) filter (where facility_type = 'incubator') as incubators_opened
    from facilities
    where operation_start_date is not null
    group by 1, 2

),

ip_metrics as (

    select
        seller_district_code as district_code,
        extract(year from deal_date)::integer as year_number,
        count(*) as ip_deals,
        sum(deal_amount_yuan) as ip_deal_amount_yuan,
        count(*) filter (where transaction_type = 'technology_export') as technology_exports
    from ip_transactions
    where deal_date is not null and seller_district_code is not null
    group by 1, 2

),

platform_metrics as (

    select
        district_code,
        assessment_year as year_number,
        sum(municipal_fund_yuan) as platform_municipal_fund_yuan,
        sum(district_match_yuan) as platform_district_match_yuan
    from platform_assessments
    where district_code is not null
    group by 1, 2

),

final as (

    select
        ---------- ids
        (years.year_number::text || '|' || districts.district_code)::text as indicator_id,
        years.year_number::integer as year_number,
        districts.district_code::text as district_code,

        ---------- counts
        coalesce(project_metrics.projects_started, 0)::integer as projects_started,
        coalesce(project_metrics.national_projects_started, 0)::integer as national_projects_started,
        coalesce(facility_metrics.facilities_opened, 0)::integer as facilities_opened,
        coalesce(facility_metrics.incubators_opened, 0)::integer as incubators_opened,
        coalesce(ip_metrics.ip_deals, 0)::integer as ip_deals,
        coalesce(ip_metrics.technology_exports, 0)::integer as technology_exports,

        ---------- money
        coalesce(project_metrics.project_funding_yuan, 0)::numeric(20, 2) as project_funding_yuan,
        coalesce(ip_metrics.ip_deal_amount_yuan, 0)::numeric(20, 2) as ip_deal_amount_yuan,
        coalesce(platform_metrics.platform_municipal_fund_yuan, 0)::numeric(20, 2) as platform_municipal_fund_yuan,
        coalesce(platform_metrics.platform_district_match_yuan, 0)::numeric(20, 2) as platform_district_match_yuan

    from years
    cross join districts
    left join project_metrics
        on years.year_number = project_metrics.year_number and districts.district_code = project_metrics.district_code
    left join facility_metrics
        on years.year_number = facility_metrics.year_number and districts.district_code = facility_metrics.district_code
    left join ip_metrics
        on years.year_number = ip_metrics.year_number and districts.district_code = ip_metrics.district_code
    left join platform_metrics
        on
            years.year_number = platform_metrics.year_number
            and districts.district_code = platform_metrics.district_code

)

select * from final
