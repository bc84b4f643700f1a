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

projects as (

    select * from {{ ref('fct_projects') }}

),

---------- the warehouse's computation of each figure (definitions in _reports__models.yml)
computed as (

    select
        'ip_centre_listings_2018' as figure_code,
        count(*)::numeric as warehouse_value
    from ip_transactions
    where submitter_code = 'SIPTC' and extract(year from listing_date) = 2018

    union all
    select
        'ip_centre_transaction_value_2018' as figure_code,
        coalesce(sum(deal_amount_yuan), 0) as warehouse_value
    from ip_transactions
    where submitter_code = 'SIPTC' and extract(year from deal_date) = 2018

    union all
    select
        'tech_exports_yrd_count_2018' as figure_code,
        count(*)::numeric as warehouse_value
    from technology_exports
    where is_yangtze_delta_buyer and deal_date <= '2018-12-31'

    union all
    select
        'tech_exports_yrd_turnover_2018' as figure_code,
        coalesce(sum(deal_amount_yuan), 0) as warehouse_value
    from technology_exports
    where is_yangtze_delta_buyer and deal_date <= '2018-12-31'

    union all
    select
        'national_major_infrastructure_2019' as figure_code,
        count(*)::numeric as warehouse_value
    from facilities
    where
        facility_type = 'national_major_infrastructure'
        and facility_status in ('under_construction', 'in_operation')

    union all
    select
        'national_major_projects_2019' as figure_code,
        count(*)::numeric as warehouse_value
    from projects
    where project_level = 'national_major'

    union all
    select
        'foreign_rd_centres_2018' as figure_code,
        count(*)::numeric as warehouse_value
    from facilities
    where
        facility_type = 'foreign_rd_center'
        and coalesce(operation_start_date, construction_start_date) <= '2018-12-31'

    union all
    select
        'incubators_2019' as figure_code,
        count(*)::numeric as warehouse_value
    from facilities
    where facility_type = 'incubator' and facility_status = 'in_operation'

    union all
    select
        'shared_instruments_count_2019' as figure_code,
        count(*)::numeric as warehouse_value
    from facilities
    where facility_type = 'large_instrument' and is_shared

    union all
    select
        'shared_instruments_value_2019' as figure_code,
        coalesce(sum(original_value_yuan), 0) as warehouse_value
    from facilities
    where facility_type = 'large_instrument' and is_shared

    union all
    select
        'functional_platforms_2018' as figure_code,
        count(*)::numeric as warehouse_value
    from facilities
    where facility_type = 'functional_platform'

    union all
    select
        'zhangjiang_first_round_started_2019' as figure_code,
        count(*)::numeric as warehouse_value
    from projects
    where programme_code = 'zhangjiang_science_city' and project_status != 'planned'

    union all
    select
        'zhangjiang_first_round_completed_2019' as figure_code,
        count(*)::numeric as warehouse_value
    from projects
    where programme_code = 'zhangjiang_science_city' and project_status = 'completed'

),

compared as (

    select
        figures.figure_code,
        figures.figure,
        figures.as_of,
        figures.comparison,
        figures.published_value,
        computed.warehouse_value,
        figures.tolerance
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
        comparison::text as comparison,

        ---------- values
        published_value::numeric(20, 2) as published_value,
        warehouse_value::numeric(20, 2) as warehouse_value,
        tolerance::numeric(9, 4) as tolerance,
        (warehouse_value - published_value)::numeric(20, 2) as difference,
        ({{ control_status('published_value', 'warehouse_value', 'comparison', 'tolerance') }})::text as status

    from compared

)

select * from final
