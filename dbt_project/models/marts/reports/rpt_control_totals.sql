with

figures as (

    select * from {{ ref('control_figures') }}

),

control_rows as (

    select * from {{ ref('rpt_control_total_rows') }}

),

---------- the warehouse's value of each figure: the sum of what its rows add (definitions in _reports__models.yml)
computed as (

    select
        figure_code,
        count(*) as rows_counted,
        coalesce(sum(counted_value), 0) as warehouse_value
    from control_rows
    group by 1

),

compared as (

    select
        figures.figure_code,
        figures.figure,
        figures.as_of,
        figures.as_of_date,
        figures.window_start,
        figures.comparison,
        figures.published_value,
        figures.tolerance,
        figures.seed_text,
        coalesce(computed.rows_counted, 0) as rows_counted,
        -- a count with no row is 0, not unknown: the figure is then plainly off
        coalesce(computed.warehouse_value, 0) as warehouse_value,
        case when figures.comparison = 'exact' then 0 else figures.tolerance end as effective_tolerance
    from figures
    left join computed
        on figures.figure_code = computed.figure_code

),

final as (

    select
        ---------- ids
        figure_code::text as figure_code,

        ---------- attributes
        figure::text as figure,
        as_of::text as as_of,
        as_of_date::date as as_of_date,
        window_start::date as window_start,
        comparison::text as comparison,
        seed_text::text as seed_text,

        ---------- values
        published_value::numeric(20, 2) as published_value,
        warehouse_value::numeric(20, 2) as warehouse_value,
        rows_counted::bigint as rows_counted,
        effective_tolerance::numeric(9, 4) as tolerance,
        (warehouse_value - published_value)::numeric(20, 2) as difference,
        (
            {{ control_status('published_value', 'warehouse_value', 'comparison', 'effective_tolerance') }}
        )::text as status

    from compared

)

select * from final
