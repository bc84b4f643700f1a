with

source as (

    select * from {{ source('audit', 'submissions') }}

),

renamed as (

    select
        ---------- ids
        submission_id,
        submitter_code,
        load_id,

        ---------- attributes
        kind as submission_kind,
        period as reporting_period,
        substr(period, 1, 4)::integer as reporting_year,
        channel,
        original_name,
        sha256,
        bytes as size_bytes,
        status as submission_status,
        status_reason,
        rows_received,
        rows_loaded,
        rows_quarantined,
        rows_with_warnings,
        status = 'published' as is_published,
        coalesce(is_nil_declaration, false) as is_nil_declaration,

        ---------- timestamps
        received_at,
        published_at,
        status_changed_at

    from source

)

select * from renamed
