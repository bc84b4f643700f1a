with

districts as (

    select * from {{ ref('dim_district') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

-- fct_projects added up per submission, district and start year (kept incrementally)
project_partials as (

    select * from {{ ref('int_projects_indicators_by_submission') }}

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

submissions as (

    select * from {{ ref('int_submissions_published') }}

),

years as (

    select distinct year_number
    from dates

),

district_submissions as (

    select
        submitter_code as district_code,
        reporting_year as year_number,
        count(*) as submissions_published
    from submissions
    group by 1, 2

),

project_metrics as (

    select
        district_code,
        year_number,
        sum(projects_started) as projects_started,
        sum(national_projects_started) as national_projects_started,
        sum(project_funding_yuan) as project_funding_yuan
    from project_partials
    group by 1, 2

),

facility_metrics as (

    select
        district_code,
        extract(year from operation_start_date)::integer as year_number,
        count(*) filter (where facility_type != 'large_instrument') as facilities_opened,
        count(*) filter (where facility_type = 'incubator') as incubators_opened,
        count(*) filter (where facility_type = 'large_instrument') as instruments_in_service,
        count(*) filter (where facility_type = 'large_instrument' and is_shared) as shared_instruments_in_service,
        sum(original_value_yuan) filter (where facility_type = 'large_instrument') as instrument_value_yuan
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
        sum(district_match_yuan) as platform_district_match_yuan,
        sum(construction_fund_yuan) as platform_construction_fund_yuan
    from platform_assessments
    where district_code is not null
    group by 1, 2

),

joined as (

    select
        years.year_number,
        districts.district_code,
        coalesce(district_submissions.submissions_published, 0) as district_submissions_published,
        project_metrics.projects_started,
        project_metrics.national_projects_started,
        project_metrics.project_funding_yuan,
        facility_metrics.facilities_opened,
        facility_metrics.incubators_opened,
        facility_metrics.instruments_in_service,
        facility_metrics.shared_instruments_in_service,
        facility_metrics.instrument_value_yuan,
        ip_metrics.ip_deals,
        ip_metrics.technology_exports,
        ip_metrics.ip_deal_amount_yuan,
        platform_metrics.platform_municipal_fund_yuan,
        platform_metrics.platform_district_match_yuan,
        platform_metrics.platform_construction_fund_yuan,
        -- no data: the district published nothing for the year and no published row falls in it; its
        -- measures are then unknown (null), not zero
        district_submissions.district_code is null
        and project_metrics.district_code is null
        and facility_metrics.district_code is null
        and ip_metrics.district_code is null
        and platform_metrics.district_code is null as is_no_data
    from years
    cross join districts
    left join district_submissions
        on
            years.year_number = district_submissions.year_number
            and districts.district_code = district_submissions.district_code
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

),

final as (

    select
        ---------- ids
        (year_number::text || '|' || district_code)::text as indicator_id,
        year_number::integer as year_number,
        district_code::text as district_code,

        ---------- coverage
        is_no_data::boolean as is_no_data,
        district_submissions_published::integer as district_submissions_published,

        ---------- counts (null when is_no_data)
        (case when not is_no_data then coalesce(projects_started, 0) end)::integer as projects_started,
        (case when not is_no_data then coalesce(national_projects_started, 0) end)::integer
            as national_projects_started,
        (case when not is_no_data then coalesce(facilities_opened, 0) end)::integer as facilities_opened,
        (case when not is_no_data then coalesce(incubators_opened, 0) end)::integer as incubators_opened,
        (case when not is_no_data then coalesce(instruments_in_service, 0) end)::integer as instruments_in_service,
        (case when not is_no_data then coalesce(shared_instruments_in_service, 0) end)::integer
            as shared_instruments_in_service,
        (case when not is_no_data then coalesce(ip_deals, 0) end)::integer as ip_deals,
        (case when not is_no_data then coalesce(technology_exports, 0) end)::integer as technology_exports,

        ---------- money (null when is_no_data)
        (case when not is_no_data then coalesce(project_funding_yuan, 0) end)::numeric(20, 2) as project_funding_yuan,
        (case when not is_no_data then coalesce(ip_deal_amount_yuan, 0) end)::numeric(20, 2) as ip_deal_amount_yuan,
        (case when not is_no_data then coalesce(instrument_value_yuan, 0) end)::numeric(20, 2)
            as instrument_value_yuan,
        (case when not is_no_data then coalesce(platform_municipal_fund_yuan, 0) end)::numeric(20, 2)
            as platform_municipal_fund_yuan,
        (case when not is_no_data then coalesce(platform_district_match_yuan, 0) end)::numeric(20, 2)
            as platform_district_match_yuan,
        (case when not is_no_data then coalesce(platform_construction_fund_yuan, 0) end)::numeric(20, 2)
            as platform_construction_fund_yuan

    from joined

)

select * from final
