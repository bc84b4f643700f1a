with

code_labels as (

    select * from {{ ref('code_labels') }}

),

regions as (

    select
        code as region_code,
        name_en,
        name_zh,
        case
            when codelist = 'district' then 'shanghai_district'
            when code in ('jiangsu', 'zhejiang', 'anhui') then 'yrd_province'
            else code
        end as region_type,
        case when codelist = 'district' then 0 else 100 end + sort_order as sort_order
    from code_labels
    where codelist in ('district', 'region')

),

final as (

    select
        ---------- ids
        region_code::text as region_code,

        ---------- attributes
        region_type::text as region_type,
        name_en::text as name_en,
        name_zh::text as name_zh,
        (region_type = 'shanghai_district')::boolean as is_shanghai,
        (region_type = 'yrd_province')::boolean as is_yrd_province,
        sort_order::integer as sort_order
    from regions

)

select * from final
