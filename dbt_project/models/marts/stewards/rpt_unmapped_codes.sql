{#- The data stewards' list: classifying codes (field, institution type, seller type) submitted outside
    their code list, published as `other` with the submitted text kept (raw *_submitted columns). Every
    loaded row counts, superseded or not: the list is about what submitters write, so the code lists can
    grow (add the value as an alias or a new code in include/stic/contract/reference/codelists.yml). -#}
with

submissions as (

    select * from {{ ref('stg_audit__submissions') }}

),

-- only the rows with a value outside a code list (few): the CTE is read twice, so PostgreSQL materialises it
projects as (

    select * from {{ ref('stg_raw__projects') }}
    where field_submitted is not null or lead_institution_type_submitted is not null

),

facilities as (

    select * from {{ ref('stg_raw__facilities') }}

),

ip_transactions as (

    select * from {{ ref('stg_raw__ip_transactions') }}
    where field_submitted is not null or seller_type_submitted is not null

),

unlisted as (

    select
        submission_id,
        'projects' as submission_kind,
        'field' as column_name,
        field_submitted as submitted_value
    from projects
    where field_submitted is not null

    union all
    select
        submission_id,
        'projects' as submission_kind,
        'institution_type' as column_name,
        lead_institution_type_submitted as submitted_value
    from projects
    where lead_institution_type_submitted is not null

    union all
    select
        submission_id,
        'facilities' as submission_kind,
        'field' as column_name,
        field_submitted as submitted_value
    from facilities
    where field_submitted is not null

    union all
    select
        submission_id,
        'ip_transactions' as submission_kind,
        'field' as column_name,
        field_submitted as submitted_value
    from ip_transactions
    where field_submitted is not null

    union all
    select
        submission_id,
        'ip_transactions' as submission_kind,
        'seller_type' as column_name,
        seller_type_submitted as submitted_value
    from ip_transactions
    where seller_type_submitted is not null

),

counted as (

    select
        submissions.submitter_code,
        unlisted.submission_kind,
        unlisted.column_name,
        unlisted.submitted_value,
        count(*) as row_count,
        count(*) filter (where submissions.is_published) as published_row_count,
        count(distinct unlisted.submission_id) as submission_count,
        min(submissions.received_at) as first_seen_at,
        max(submissions.received_at) as last_seen_at
    from unlisted
    inner join submissions
        on unlisted.submission_id = submissions.submission_id
    group by 1, 2, 3, 4

),

final as (

    select
        ---------- ids
        (submitter_code || '|' || submission_kind || '|' || column_name || '|' || submitted_value)::text
            as unmapped_code_id,
        submitter_code::text as submitter_code,

        ---------- attributes
        submission_kind::text as submission_kind,
        column_name::text as column_name,
        submitted_value::text as submitted_value,
        'other'::text as published_as,
        row_count::bigint as row_count,
        published_row_count::bigint as published_row_count,
        submission_count::bigint as submission_count,

        ---------- timestamps
        first_seen_at::timestamptz as first_seen_at,
        last_seen_at::timestamptz as last_seen_at

    from counted

)

select * from final
