with

reported as (

    select * from {{ ref('int_facilities_reported') }}

),

final as (

    select * from reported
    where is_canonical

)

select * from final
