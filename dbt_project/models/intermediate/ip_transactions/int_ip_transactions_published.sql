with

reported as (

    select * from {{ ref('int_ip_transactions_reported') }}

),

final as (

    select * from reported
    where is_canonical

)

select * from final
