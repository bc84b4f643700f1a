with

projects as (

    select * from {{ ref('fct_projects') }}

),

facilities as (

    select * from {{ ref('dim_facility') }}

),

ip_transactions as (

    select * from {{ ref('fct_ip_transactions') }}

),

institution_types as (

    select * from {{ ref('dim_institution_type') }}

),

reported as (

    select
        lead_institution_name as reported_name,
        lead_institution_type as institution_type_code,
        'lead_institution' as reported_role
    from projects
    union all
    select
        host_institution_name as reported_name,
        null as institution_type_code,
        'host_institution' as reported_role
    from facilities
    union all
    select
        seller_name as reported_name,
        seller_type as institution_type_code,
        'seller' as reported_role
    from ip_transactions
    union all
    select
        buyer_name as reported_name,
        null as institution_type_code,
        'buyer' as reported_role
    from ip_transactions

),

-- one institution per name as written apart from width, case, spaces and punctuation:
-- "复旦大学", "复旦大学 " and "ＦＵＤＡＮ (University)" vs "fudan university" fold alike
normalised as (

    select
        reported_name,
        institution_type_code,
        reported_role,
        regexp_replace(
            lower(normalize(btrim(reported_name), nfkc)), '[[:space:][:punct:]]+', '', 'g'
        ) as normalised_name
    from reported
    where nullif(btrim(reported_name), '') is not null

),

grouped as (

    select
        normalised_name,
        mode() within group (order by reported_name) as institution_name,
        string_agg(distinct reported_name, ' | ' order by reported_name) as reported_names,
        count(distinct reported_name) as reported_name_count,
        count(*) as rows_reported,
        mode() within group (order by institution_type_code) as institution_type_code,
        bool_or(reported_role = 'lead_institution') as is_lead_institution,
        bool_or(reported_role = 'host_institution') as is_host_institution,
        bool_or(reported_role = 'seller') as is_seller,
        bool_or(reported_role = 'buyer') as is_buyer
    from normalised
    where normalised_name != ''
    group by normalised_name

),

final as (

    select
        ---------- ids
        md5(grouped.normalised_name)::text as institution_id,
        grouped.normalised_name::text as normalised_name,

        ---------- attributes
        grouped.institution_name::text as institution_name,
        grouped.reported_names::text as reported_names,
        grouped.institution_type_code::text as institution_type_code,
        institution_types.name_en::text as institution_type_name_en,
        institution_types.name_zh::text as institution_type_name_zh,
        grouped.is_lead_institution::boolean as is_lead_institution,
        grouped.is_host_institution::boolean as is_host_institution,
        grouped.is_seller::boolean as is_seller,
        grouped.is_buyer::boolean as is_buyer,

        ---------- counts
        grouped.reported_name_count::integer as reported_name_count,
        grouped.rows_reported::integer as rows_reported
    from grouped
    left join institution_types
        on grouped.institution_type_code = institution_types.institution_type_code

)

select * from final
