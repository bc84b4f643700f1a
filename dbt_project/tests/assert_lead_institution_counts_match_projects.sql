{#- Nightly: the lead institutions' counts kept by deltas (int_projects_lead_institutions) equal a count over
    every fact row, the way dim_institution counted them before; any difference is a row. -#}
{{ config(enabled=var('stic_nightly_tests', false), tags=['nightly']) }}

with

kept as (

    select lead_institution_name, lead_institution_type, projects_reported
    from {{ ref('int_projects_lead_institutions') }}

),

counted as (

    select lead_institution_name, lead_institution_type, count(*) as projects_reported
    from {{ ref('fct_projects') }}
    group by lead_institution_name, lead_institution_type

),

differences as (

    (select *, 'only_kept' as side from kept except select *, 'only_kept' from counted)
    union all
    (select *, 'only_counted' as side from counted except select *, 'only_counted' from kept)

)

select * from differences
