{#- Only rows of published submissions (int_submissions_published), ranked by report precedence. -#}
with

ip_transactions as (

    select * from {{ ref('stg_raw__ip_transactions') }}

),

published_submissions as (

    select * from {{ ref('int_submissions_published') }}

),

published as (

    select
        ip_transactions.*,
        published_submissions.submitter_code,
        published_submissions.reporting_period,
        published_submissions.reporting_year,
        published_submissions.period_start_date,
        published_submissions.period_end_date,
        published_submissions.is_annual,
        published_submissions.channel,
        published_submissions.published_at,
        published_submissions.submitter_type,
        published_submissions.precedence_rank
    from ip_transactions
    inner join published_submissions
        on ip_transactions.submission_id = published_submissions.submission_id

),

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
