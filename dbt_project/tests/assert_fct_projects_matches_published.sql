{#- The incremental fct_projects holds exactly the canonical records a full refresh would build. -#}
with

loaded as (

    select project_code, submission_id from {{ ref('fct_projects') }}

),

expected as (

    select project_code, submission_id from {{ ref('int_projects_published') }}

),

differences as (

    (select *, 'only_in_fct' as side from loaded except select *, 'only_in_fct' from expected)
    union all
    (select *, 'missing_from_fct' as side from expected except select *, 'missing_from_fct' from loaded)

)

select * from differences
