with

fields as (

    select * from {{ ref('fields') }}

),

final as (

    select
        field_code::text as field_code,
        field_name_en::text as field_name_en,
        field_name_zh::text as field_name_zh
    from fields

)

select * from final
