with

days as (

    select day_at::date as date_day
    from generate_series('2014-01-01'::date, '2030-12-31'::date, interval '1 day') as series (day_at)

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
