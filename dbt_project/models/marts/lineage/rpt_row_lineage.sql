with

submissions as (

    select * from {{ ref('stg_audit__submissions') }}

),

projects as (

    select * from {{ ref('stg_raw__projects') }}

),

facilities as (

    select * from {{ ref('stg_raw__facilities') }}

),

platform_assessments as (

    select * from {{ ref('stg_raw__platform_assessments') }}

),

ip_transactions as (

    select * from {{ ref('stg_raw__ip_transactions') }}

),

fct_projects as (

    select * from {{ ref('fct_projects') }}

),

dim_facility as (

    select * from {{ ref('dim_facility') }}

),

fct_platform_assessments as (

    select * from {{ ref('fct_platform_assessments') }}

),

fct_ip_transactions as (

    select * from {{ ref('fct_ip_transactions') }}

),

raw_rows as (

    select
        'projects' as submission_kind,
        project_code as business_key,
        submission_id,
        load_id,
        source_sheet,
        source_row_number
    from projects
    union all
    select
        'facilities' as submission_kind,
        facility_code as business_key,
        submission_id,
        load_id,
        source_sheet,
        source_row_number
    from facilities
    union all
    select
        'platform_assessments' as submission_kind,
        platform_code || '|' || assessment_year::text as business_key,
        submission_id,
        load_id,
        source_sheet,
        source_row_number
    from platform_assessments
    union all
    select
        'ip_transactions' as submission_kind,
        transaction_code as business_key,
        submission_id,
        load_id,
        source_sheet,
        source_row_number
    from ip_transactions

),

in_marts as (

    select
        'projects' as submission_kind,
        'fct_projects' as mart_name,
        project_code as business_key,
        submission_id
    from fct_projects
    union all
    select
        'facilities' as submission_kind,
        'dim_facility' as mart_name,
        facility_code as business_key,
        submission_id
    from dim_facility
    where is_current
    union all
    select
        'platform_assessments' as submission_kind,
        'fct_platform_assessments' as mart_name,
        platform_code || '|' || assessment_year::text as business_key,
        submission_id
    from fct_platform_assessments
    union all
    select
        'ip_transactions' as submission_kind,
        'fct_ip_transactions' as mart_name,
        transaction_code as business_key,
        submission_id
    from fct_ip_transactions

),

-- only the rows of the load in force of each submission (a reloaded submission keeps its last load)
joined as (

    select
        raw_rows.*,
        submissions.submitter_code,
        submissions.reporting_period,
        submissions.channel,
        submissions.original_name,
        submissions.sha256,
        submissions.submission_status,
        submissions.received_at,
        submissions.published_at,
        in_marts.mart_name,
        in_marts.submission_id is not null as is_in_mart
    from raw_rows
    inner join submissions
        on
            raw_rows.submission_id = submissions.submission_id
            and raw_rows.load_id = submissions.load_id
    left join in_marts
        on
            raw_rows.submission_kind = in_marts.submission_kind
            and raw_rows.business_key = in_marts.business_key
            and raw_rows.submission_id = in_marts.submission_id

),

final as (

    select
        ---------- ids
        (
            submission_kind || '|' || submission_id::text || '|' || source_sheet || '|'
            || source_row_number::text
        )::text as lineage_row_id,
        submission_kind::text as submission_kind,
        business_key::text as business_key,
        submission_id::bigint as submission_id,
        load_id::bigint as load_id,
        submitter_code::text as submitter_code,

        ---------- attributes
        reporting_period::text as reporting_period,
        nullif(source_sheet, '')::text as source_sheet,
        source_row_number::integer as source_row_number,
        channel::text as channel,
        original_name::text as original_name,
        sha256::text as sha256,
        -- the archive is content-addressed (stic.ledger.archive_path_for), under the landing folder
        ('archive/sha256/' || left(sha256, 2) || '/' || sha256)::text as archive_path,
        submission_status::text as submission_status,
        mart_name::text as mart_name,
        is_in_mart::boolean as is_in_mart,

        ---------- timestamps
        received_at::timestamptz as received_at,
        published_at::timestamptz as published_at

    from joined

)

select * from final
