{#- Every version of every IP transaction's canonical record, as reported (the snapshot
    ip_transactions_snapshot): all attributes are as of the version, none overlaid with today's values.
    In force at instant T: valid_from <= T and (valid_to is null or valid_to > T) (docs/history.md). -#}
with

versions as (

    select * from {{ ref('ip_transactions_snapshot') }}

),

numbered as (

    select
        *,
        row_number() over (partition by transaction_code order by dbt_valid_from) as version_number
    from versions

),

final as (

    select
        ---------- ids
        dbt_scd_id::text as transaction_version_id,
        transaction_code::text as transaction_code,
        version_number::integer as version_number,
        submitter_code::text as submitter_code,
        submission_id::bigint as submission_id,
        field_code::text as field_code,
        seller_district_code::text as seller_district_code,

        ---------- attributes
        ip_type::text as ip_type,
        transaction_type::text as transaction_type,
        seller_name::text as seller_name,
        seller_type::text as seller_type,
        buyer_name::text as buyer_name,
        buyer_region::text as buyer_region,
        inventor_award_share::numeric(9, 6) as inventor_award_share,
        reporting_period::text as reporting_period,

        ---------- dates
        listing_date::date as listing_date,
        deal_date::date as deal_date,

        ---------- money
        listed_price_yuan::numeric(20, 2) as listed_price_yuan,
        deal_amount_yuan::numeric(20, 2) as deal_amount_yuan,
        net_revenue_yuan::numeric(20, 2) as net_revenue_yuan,

        ---------- timestamps
        published_at::timestamptz as published_at,

        ---------- validity
        dbt_valid_from::timestamp as valid_from,
        dbt_valid_to::timestamp as valid_to,
        (dbt_valid_to is null)::boolean as is_current

    from numbered

)

select * from final
