{#- Only rows of published submissions (macro published_rows), ranked by report precedence. -#}
with

{{ published_rows('ip_transactions') }},

ranked as (

    select
        *,
        {{ row_fingerprint([
            'listing_date',
            'deal_date',
            'ip_type',
            'transaction_type',
            'field_code',
            'field_submitted',
            'seller_name',
            'seller_type',
            'seller_type_submitted',
            'seller_district_code',
            'buyer_name',
            'buyer_region',
            'listed_price_yuan',
            'deal_amount_yuan',
            'net_revenue_yuan',
            'inventor_award_share',
        ]) }} as row_fingerprint,
        row_number() over (
            partition by transaction_code
            order by {{ report_precedence() }}
        ) as report_rank,
        row_number() over (
            partition by transaction_code, submitter_code
            order by {{ submitter_report_order() }}
        ) as submitter_report_rank
    from published

),

final as (

    select
        *,
        report_rank = 1 as is_canonical
    from ranked

)

select * from final
