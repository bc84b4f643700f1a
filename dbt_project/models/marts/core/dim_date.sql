{#- Every day of every calendar year the data touches: from the earliest to the latest date in the published
    facts, widened to whole years and to the year of every submitted period. Bounded to 1900-2100 so that
    one mistyped year cannot make the table huge (such a date is a period_consistency warning anyway). -#}
with

-- not materialized: each min() and max() below reads the fact's own index (a CTE read more than once is
-- otherwise materialized whole)
projects as not materialized (

    select * from {{ ref('fct_projects') }}

),

facilities as (

    select * from {{ ref('int_facilities_published') }}

),

ip_transactions as not materialized (

    select * from {{ ref('fct_ip_transactions') }}

),

submissions as (

    select * from {{ ref('int_submissions_published') }}

),

-- each bound on its own: min() and max() of one column of the facts are read from its index (fct_projects:
-- start_date, end_date), not by scanning every fact row (0.7 s a build at 1M project rows)
data_bounds as (

    select
        least(
            (select min(projects.start_date) from projects),
            (select min(projects.end_date) from projects),
            (select min(facilities.construction_start_date) from facilities),
            (select min(facilities.operation_start_date) from facilities),
            (select min(ip_transactions.listing_date) from ip_transactions),
            (select min(ip_transactions.deal_date) from ip_transactions),
            (select make_date(min(submissions.reporting_year), 1, 1) from submissions)
        ) as first_date,
        greatest(
            (select max(projects.start_date) from projects),
            (select max(projects.end_date) from projects),
            (select max(facilities.construction_start_date) from facilities),
            (select max(facilities.operation_start_date) from facilities),
            (select max(ip_transactions.listing_date) from ip_transactions),
            (select max(ip_transactions.deal_date) from ip_transactions),
            (select make_date(max(submissions.reporting_year), 12, 31) from submissions)
        ) as last_date

),

bounds as (

    select
        greatest(
            date_trunc('year', coalesce(first_date, make_date(2014, 1, 1)))::date, make_date(1900, 1, 1)
        ) as first_day,
        least(
            (date_trunc('year', coalesce(last_date, make_date(2014, 1, 1))) + interval '1 year - 1 day')::date,
            make_date(2100, 12, 31)
        ) as last_day
    from data_bounds

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
