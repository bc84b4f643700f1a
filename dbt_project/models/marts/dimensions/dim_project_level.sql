with

code_labels as (

    select * from {{ ref('code_labels') }}

),

final as (

    select
        code::text as project_level_code,
        name_en::text as name_en,
        name_zh::text as name_zh,
        sort_order::integer as sort_order
    from code_labels
    where codelist = 'project_level'

)

select * from final
