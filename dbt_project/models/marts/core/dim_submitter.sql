with

submitters as (

    select * from {{ ref('submitters') }}

),

final as (

    select
        submitter_code::text as submitter_code,
        submitter_type::text as submitter_type,
        submitter_name_en::text as submitter_name_en,
        submitter_name_zh::text as submitter_name_zh,
        precedence_rank::integer as precedence_rank,
        (submitter_type = 'district')::boolean as is_district
    from submitters

)

select * from final
