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
        seller_district_code::text as seller_district_code,

        ---------- attributes
        'award_share_above_0_7'::text as finding_code,
        'warning'::text as severity,
        seller_name::text as seller_name,
        transaction_type::text as transaction_type,
        inventor_award_share::numeric(9, 6) as inventor_award_share,

        ---------- dates
        deal_date::date as deal_date,

        ---------- money
        net_revenue_yuan::numeric(20, 2) as net_revenue_yuan,
        (net_revenue_yuan * inventor_award_share)::numeric(20, 2) as award_yuan

    from transactions
    where inventor_award_share > 0.7

)

select * from final
