with

transactions as (

    select * from {{ ref('fct_ip_transactions') }}

),

final as (

    select
        ---------- ids
        transaction_code::text as transaction_code,
        submitter_code::text as submitter_code,
        submission_id::bigint as submission_id,
        field_code::text as field_code,
        seller_district_code::text as seller_district_code,

        ---------- attributes
        ip_type::text as ip_type,
        seller_name::text as seller_name,
        buyer_name::text as buyer_name,
        buyer_region::text as buyer_region,
        (buyer_region in ('jiangsu', 'zhejiang', 'anhui'))::boolean as is_yangtze_delta_buyer,

        ---------- dates
        listing_date::date as listing_date,
        deal_date::date as deal_date,

        ---------- money
        deal_amount_yuan::numeric(20, 2) as deal_amount_yuan

    from transactions
    where transaction_type = 'technology_export'

)

select * from final
