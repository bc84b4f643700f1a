with

source as (

    select * from {{ source('raw', 'ip_transactions') }}

),

renamed as (

    select
        ---------- lineage
        submission_id,
        load_id,
        source_row_number,
        source_sheet,

        ---------- ids
        transaction_code,

        ---------- attributes
        ip_type,
        transaction_type,
        field as field_code,
        field_submitted,
        seller as seller_name,
        seller_type,
        seller_type_submitted,
        seller_district as seller_district_code,
        buyer as buyer_name,
        buyer_region,
        inventor_award_share::numeric(9, 6) as inventor_award_share,
        array_to_string(row_warnings, ',') as row_warnings,

        ---------- dates
        listing_date,
        deal_date,

        ---------- money
        listed_price_yuan::numeric(20, 2) as listed_price_yuan,
        deal_amount_yuan::numeric(20, 2) as deal_amount_yuan,
        net_revenue_yuan::numeric(20, 2) as net_revenue_yuan

    from source

)

select * from renamed
