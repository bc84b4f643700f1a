with

-- the projects' lead institutions are counted by an incremental model (one row per name and type as written,
-- with its number of projects), not here over every fact row: 5.5 s a build at 10M project rows
lead_institutions as (

    select * from {{ ref('int_projects_lead_institutions') }}

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
        'lead_institution' as reported_role,
        projects_reported as rows_reported
    from lead_institutions
    union all
    select
        host_institution_name as reported_name,
        null as institution_type_code,
        'host_institution' as reported_role,
        1 as rows_reported
    from facilities
    union all
    select
        seller_name as reported_name,
        seller_type as institution_type_code,
        'seller' as reported_role,
        1 as rows_reported
    from ip_transactions
    union all
    select
        buyer_name as reported_name,
        null as institution_type_code,
        'buyer' as reported_role,
        1 as rows_reported
    from ip_transactions

),

-- each name as written, once per type and role with its row count: the normalisation below (NFKC, a regular
-- expression) then runs once per distinct name, not once per fact row (it was most of the model's time:
-- 8-11 s at 1M project rows)
names as (

    select
        reported_name,
        institution_type_code,
        reported_role,
        sum(rows_reported) as rows_reported
    from reported
    where nullif(btrim(reported_name), '') is not null
    group by reported_name, institution_type_code, reported_role

),

distinct_names as (

    select distinct reported_name from names

),

-- one institution per name as written apart from width, case, spaces and punctuation:
-- "复旦大学", "复旦大学 " and "ＦＵＤＡＮ (University)" vs "fudan university" fold alike
spellings as (

    select
        reported_name,
        regexp_replace(
            lower(normalize(btrim(reported_name), nfkc)), '[[:space:][:punct:]]+', '', 'g'
        ) as normalised_name
    from distinct_names

),

normalised as (

    select
        names.reported_name,
        names.institution_type_code,
        names.reported_role,
        names.rows_reported,
        spellings.normalised_name
    from names
    inner join spellings
        on names.reported_name = spellings.reported_name

),

rows_per_name as (

    select
        normalised_name,
        reported_name,
        sum(rows_reported) as rows_reported
    from normalised
    group by normalised_name, reported_name

),

rows_per_type as (

    select
        normalised_name,
        institution_type_code,
        sum(rows_reported) as rows_reported
    from normalised
    where institution_type_code is not null
    group by normalised_name, institution_type_code

),

-- mode() over the fact rows, from the counts: the most frequent value, the first in sort order on a tie
-- (mode() ignores nulls, so a type is chosen among the rows that give one)
most_reported_name as (

    select distinct on (normalised_name)
        normalised_name,
        reported_name as institution_name
    from rows_per_name
    order by normalised_name asc, rows_reported desc, reported_name asc

),

most_reported_type as (

    select distinct on (normalised_name)
        normalised_name,
        institution_type_code
    from rows_per_type
    order by normalised_name asc, rows_reported desc, institution_type_code asc

),

grouped as (

    select
        normalised.normalised_name,
        most_reported_name.institution_name,
        string_agg(distinct normalised.reported_name, ' | ' order by normalised.reported_name) as reported_names,
        count(distinct normalised.reported_name) as reported_name_count,
        sum(normalised.rows_reported) as rows_reported,
        most_reported_type.institution_type_code,
        bool_or(normalised.reported_role = 'lead_institution') as is_lead_institution,
        bool_or(normalised.reported_role = 'host_institution') as is_host_institution,
        bool_or(normalised.reported_role = 'seller') as is_seller,
        bool_or(normalised.reported_role = 'buyer') as is_buyer
    from normalised
    inner join most_reported_name
        on normalised.normalised_name = most_reported_name.normalised_name
    left join most_reported_type
        on normalised.normalised_name = most_reported_type.normalised_name
    where normalised.normalised_name != ''
    group by
        normalised.normalised_name,
        most_reported_name.institution_name,
        most_reported_type.institution_type_code

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
