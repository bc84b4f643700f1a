with

code_labels as (

    select * from {{ ref('code_labels') }}

),

final as (

    select
        code::text as transaction_type_code,
        name_en::text as name_en,
        name_zh::text as name_zh,
        sort_order::integer as sort_order
    from code_labels
    where codelist = 'transaction_type'

)

select * from final
