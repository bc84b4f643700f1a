{#- The incremental fct_ip_transactions holds exactly the canonical records a full refresh would build. -#}
with

loaded as (

    select transaction_code, submission_id from {{ ref('fct_ip_transactions') }}

),

expected as (

    select transaction_code, submission_id from {{ ref('int_ip_transactions_published') }}

),

differences as (

    (select *, 'only_in_fct' as side from loaded except select *, 'only_in_fct' from expected)
    union all
    (select *, 'missing_from_fct' as side from expected except select *, 'missing_from_fct' from loaded)

)

select * from differences
