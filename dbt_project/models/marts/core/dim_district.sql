with

districts as (

    select * from {{ ref('districts') }}

),

final as (

    select
        district_code::text as district_code,
        district_name_en::text as district_name_en,
        district_name_zh::text as district_name_zh
    from districts

)

select * from final
