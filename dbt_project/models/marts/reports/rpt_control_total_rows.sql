{#- Which published rows make up each control figure, as of the figure's date (seed control_figures:
    as_of_date, and window_start for figures of one period). rpt_control_totals adds these rows up.

    Incremental (macros/report_watermarks.sql): a build reads only the project rows built since the last one
    and replaces the rows of those codes, and of codes whose submission is no longer published; the rows of
    facilities and transactions (thousands) are made whole every time. It rewrote the rows of every project
    (1.5 s a build at 1M project rows). A change to the control_figures seed or this SQL reads everything again. -#}
-- depends_on: {{ ref('stg_audit__submissions') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['business_key']}, {'columns': ['submission_id']}, {'columns': ['source_kind']}],
        report_inputs=['control_figures'],
        pre_hook=[
            "{{ begin_report_build('select max(built_at) from ' ~ ref('fct_projects')) }}",
            "{{ delete_stale_report_rows(ref('fct_projects'), 'project_code', 'source_kind', 'projects') }}",
        ],
        post_hook=[
            "{{ record_report_watermark() }}",
            "{{ ensure_indexes() }}",
        ]
    )
}}
{%- set since = report_watermark() %}

with

figures as (

    select * from {{ ref('control_figures') }}

),

ip_transactions as (

    select * from {{ ref('fct_ip_transactions') }}

),

technology_exports as (

    select * from {{ ref('fct_technology_exports') }}

),

facilities as (

    select * from {{ ref('dim_facility') }}
    where is_current

),

facility_reports as (

    select
        facility_code,
        min(reporting_year) as first_reporting_year
    from {{ ref('int_facilities_reported') }}
    group by 1

),

projects as (

    select * from {{ ref('fct_projects') }}
    where {{ report_read_window('built_at', since) }}

),

---------- one CTE per source; each row says which figure it counts in and what it adds
ip_rows as (

    select
        figures.figure_code,
        'ip_transactions' as source_kind,
        ip_transactions.transaction_code as business_key,
        ip_transactions.submitter_code,
        ip_transactions.submission_id,
        ip_transactions.listing_date as counted_date,
        1::numeric as counted_value
    from ip_transactions
    inner join figures
        on
            figures.figure_code = 'ip_centre_listings_2018'
            and ip_transactions.listing_date between figures.window_start and figures.as_of_date
    where ip_transactions.submitter_code = 'SIPTC'

    union all
    select
        figures.figure_code,
        'ip_transactions' as source_kind,
        ip_transactions.transaction_code as business_key,
        ip_transactions.submitter_code,
        ip_transactions.submission_id,
        ip_transactions.deal_date as counted_date,
        ip_transactions.deal_amount_yuan as counted_value
    from ip_transactions
    inner join figures
        on
            figures.figure_code = 'ip_centre_transaction_value_2018'
            and ip_transactions.deal_date between figures.window_start and figures.as_of_date
    where ip_transactions.submitter_code = 'SIPTC'

    union all
    select
        figures.figure_code,
        'ip_transactions' as source_kind,
        technology_exports.transaction_code as business_key,
        technology_exports.submitter_code,
        technology_exports.submission_id,
        technology_exports.deal_date as counted_date,
        case
            when figures.figure_code = 'tech_exports_yrd_count_2018' then 1::numeric
            else technology_exports.deal_amount_yuan
        end as counted_value
    from technology_exports
    inner join figures
        on
            figures.figure_code in ('tech_exports_yrd_count_2018', 'tech_exports_yrd_turnover_2018')
            and technology_exports.deal_date <= figures.as_of_date
    where technology_exports.is_yangtze_delta_buyer

),

facility_rows as (

    select
        figures.figure_code,
        'facilities' as source_kind,
        facilities.facility_code as business_key,
        facilities.submitter_code,
        facilities.submission_id,
        coalesce(facilities.operation_start_date, facilities.construction_start_date) as counted_date,
        case
            when figures.figure_code = 'shared_instruments_value_2019' then facilities.original_value_yuan
            else 1::numeric
        end as counted_value
    from facilities
    inner join figures
        on
            (
                figures.figure_code = 'national_major_infrastructure_2019'
                and facilities.facility_type = 'national_major_infrastructure'
                and facilities.facility_status != 'planned'
                and facilities.construction_start_date <= figures.as_of_date
            )
            or (
                figures.figure_code = 'foreign_rd_centres_2018'
                and facilities.facility_type = 'foreign_rd_center'
                and coalesce(facilities.operation_start_date, facilities.construction_start_date) <= figures.as_of_date
            )
            or (
                figures.figure_code = 'incubators_2019'
                and facilities.facility_type = 'incubator'
                and facilities.facility_status != 'planned'
                and coalesce(facilities.operation_start_date, facilities.construction_start_date) <= figures.as_of_date
            )
            or (
                figures.figure_code in ('shared_instruments_count_2019', 'shared_instruments_value_2019')
                and facilities.facility_type = 'large_instrument'
                and facilities.is_shared
                and coalesce(facilities.operation_start_date, facilities.construction_start_date) <= figures.as_of_date
            )
            or (
                figures.figure_code = 'functional_platforms_started_2019'
                and facilities.facility_type = 'functional_platform'
                and facilities.construction_start_date <= figures.as_of_date
            )

    union all
    select
        figures.figure_code,
        'facilities' as source_kind,
        facilities.facility_code as business_key,
        facilities.submitter_code,
        facilities.submission_id,
        make_date(facility_reports.first_reporting_year, 1, 1) as counted_date,
        1::numeric as counted_value
    from facilities
    inner join facility_reports
        on facilities.facility_code = facility_reports.facility_code
    inner join figures
        on
            figures.figure_code = 'functional_platforms_2018'
            and facility_reports.first_reporting_year <= extract(year from figures.as_of_date)
    where facilities.facility_type = 'functional_platform'

),

project_rows as (

    select
        figures.figure_code,
        'projects' as source_kind,
        projects.project_code as business_key,
        projects.submitter_code,
        projects.submission_id,
        case
            when figures.figure_code = 'zhangjiang_first_round_completed_2019'
                then coalesce(projects.end_date, projects.start_date)
            else projects.start_date
        end as counted_date,
        case
            when figures.figure_code = 'municipal_major_st_local_money_2019'
                then coalesce(projects.funding_municipal_yuan, 0) + coalesce(projects.funding_district_yuan, 0)
            else 1::numeric
        end as counted_value
    from projects
    inner join figures
        on
            (
                figures.figure_code = 'national_major_projects_2019'
                and projects.project_level = 'national_major'
                and projects.project_status != 'planned'
                and projects.start_date <= figures.as_of_date
            )
            or (
                figures.figure_code = 'national_major_science_projects_2014_2018'
                and projects.project_level = 'national_major'
                and projects.programme_code = 'national_major_science'
                and projects.project_status != 'planned'
                and projects.start_date between figures.window_start and figures.as_of_date
            )
            or (
                figures.figure_code = 'zhangjiang_first_round_started_2019'
                and projects.programme_code = 'zhangjiang_science_city'
                and projects.project_status != 'planned'
                and projects.start_date <= figures.as_of_date
            )
            or (
                figures.figure_code = 'zhangjiang_first_round_completed_2019'
                and projects.programme_code = 'zhangjiang_science_city'
                and projects.project_status = 'completed'
                and coalesce(projects.end_date, projects.start_date) <= figures.as_of_date
            )
            or (
                figures.figure_code in ('municipal_major_st_projects_2019', 'municipal_major_st_local_money_2019')
                and projects.project_level = 'municipal_major'
                and projects.programme_code = 'municipal_major_st'
                and projects.project_status != 'planned'
                and projects.start_date <= figures.as_of_date
            )

),

unioned as (

    select * from ip_rows
    union all
    select * from facility_rows
    union all
    select * from project_rows

),

final as (

    select
        ---------- ids
        (figure_code || '|' || source_kind || '|' || business_key)::text as control_total_row_id,
        figure_code::text as figure_code,
        source_kind::text as source_kind,
        business_key::text as business_key,
        submitter_code::text as submitter_code,
        submission_id::bigint as submission_id,

        ---------- what the row adds
        counted_date::date as counted_date,
        counted_value::numeric(20, 2) as counted_value

    from unioned

)

select * from final
