{#- Incremental: a run reads only canonical records that are new or whose winning submission changed
    (published since the last run, or a different submission now wins because the old winner was
    superseded), and replaces those keys (delete+insert). The post-hook deletes keys whose every
    publishing submission was superseded or corrected away, so incremental and full refresh agree. -#}
{{
    config(
        materialized='incremental',
        unique_key='transaction_code',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook="
            delete from {{ this }} as existing
            where not exists (
                select 1 from {{ ref('int_ip_transactions_published') }} as canonical
                where canonical.transaction_code = existing.transaction_code
                    and canonical.submission_id = existing.submission_id
            )"
    )
}}

with

transactions as (

    select * from {{ ref('int_ip_transactions_published') }}

),

changed as (

    select * from transactions
    {% if is_incremental() %}
        -- qualified throughout: the correlated subquery below needs it
        where
            transactions.published_at > (  -- noqa: RF03
                select coalesce(max(loaded.published_at), '-infinity') from {{ this }} as loaded
            )
            or not exists (
                select 1 from {{ this }} as loaded
                where
                    loaded.transaction_code = transactions.transaction_code
                    and loaded.submission_id = transactions.submission_id
            )
    {% endif %}

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
        transaction_type::text as transaction_type,
        seller_name::text as seller_name,
        seller_type::text as seller_type,
        seller_type_submitted::text as seller_type_submitted,
        field_submitted::text as field_submitted,
        buyer_name::text as buyer_name,
        buyer_region::text as buyer_region,
        inventor_award_share::numeric(9, 6) as inventor_award_share,
        row_warnings::text as row_warnings,
        reporting_period::text as reporting_period,

        ---------- dates
        listing_date::date as listing_date,
        deal_date::date as deal_date,

        ---------- money
        listed_price_yuan::numeric(20, 2) as listed_price_yuan,
        deal_amount_yuan::numeric(20, 2) as deal_amount_yuan,
        net_revenue_yuan::numeric(20, 2) as net_revenue_yuan,

        ---------- timestamps
        published_at::timestamptz as published_at

    from changed

)

select * from final
