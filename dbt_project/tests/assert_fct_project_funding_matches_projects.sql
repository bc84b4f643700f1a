{#- The incremental fct_project_funding holds exactly the funding rows of fct_projects, no stale ones. -#}
with

loaded as (

    select project_code, funding_source, submission_id, amount_yuan from {{ ref('fct_project_funding') }}

),

projects as (

    select * from {{ ref('fct_projects') }}

),

expected as (

    select project_code, 'central' as funding_source, submission_id, funding_central_yuan as amount_yuan
    from projects where funding_central_yuan is not null
    union all
    select project_code, 'municipal' as funding_source, submission_id, funding_municipal_yuan as amount_yuan
    from projects where funding_municipal_yuan is not null
    union all
    select project_code, 'district' as funding_source, submission_id, funding_district_yuan as amount_yuan
    from projects where funding_district_yuan is not null
    union all
    select project_code, 'self_raised' as funding_source, submission_id, funding_self_raised_yuan as amount_yuan
    from projects where funding_self_raised_yuan is not null

),

differences as (

    (select *, 'only_in_fct' as side from loaded except select *, 'only_in_fct' from expected)
    union all
    (select *, 'missing_from_fct' as side from expected except select *, 'missing_from_fct' from loaded)

)

select * from differences
