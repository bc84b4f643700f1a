{#- Every day of every calendar year the data touches: from the earliest to the latest date in the published
    facts, widened to whole years and to the year of every submitted period. Bounded to 1900-2100 so that
    one mistyped year cannot make the table huge (such a date is a period_consistency warning anyway). -#}
with

projects as (

    select * from {{ ref('fct_projects') }}

),

facilities as (

    select * from {{ ref('int_facilities_published') }}

),

ip_transactions as (

    select * from {{ ref('fct_ip_transactions') }}

),

submissions as (

    select * from {{ ref('int_submissions_published') }}

),

data_dates as (

    select start_date as date_day from projects
    union all
    select end_date as date_day from projects
    union all
    select construction_start_date as date_day from facilities
    union all
    select operation_start_date as date_day from facilities
    union all
    select listing_date as date_day from ip_transactions
    union all
    select deal_date as date_day from ip_transactions
    union all
    select make_date(reporting_year, 1, 1) as date_day from submissions
    union all
    select make_date(reporting_year, 12, 31) as date_day from submissions

),

bounds as (

    select
        greatest(
            date_trunc('year', coalesce(min(date_day), make_date(2014, 1, 1)))::date, make_date(1900, 1, 1)
        ) as first_day,
        least(
            (date_trunc('year', coalesce(max(date_day), make_date(2014, 1, 1))) + interval '1 year - 1 day')::date,
            make_date(2100, 12, 31)
        ) as last_day
    from data_dates

),

days as (

    select series.day_at::date as date_day
    from bounds
    cross join generate_series(bounds.first_day, bounds.last_day, interval '1 day') as series (day_at)

),

final as (

    select
        date_day::date as date_day,
        extract(year from date_day)::integer as year_number,
        extract(quarter from date_day)::integer as quarter_number,
        extract(month from date_day)::integer as month_number,
        extract(day from date_day)::integer as day_of_month,
        extract(isodow from date_day)::integer as iso_day_of_week,
        (extract(year from date_day)::text || 'Q' || extract(quarter from date_day)::text)::text as year_quarter,
        (extract(isodow from date_day) in (6, 7))::boolean as is_weekend
    from days

)

select * from final
