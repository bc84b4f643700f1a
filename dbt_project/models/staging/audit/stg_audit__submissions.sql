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
        period !~ 'Q' as is_annual,
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

        ---------- dates
        -- a period is a date range: 2018 = 2018-01-01..2018-12-31, 2018Q1 = 2018-01-01..2018-03-31
        make_date(
            substr(period, 1, 4)::integer,
            case when period ~ 'Q' then substr(period, 6, 1)::integer * 3 - 2 else 1 end,
            1
        ) as period_start_date,
        (
            make_date(
                substr(period, 1, 4)::integer,
                case when period ~ 'Q' then substr(period, 6, 1)::integer * 3 - 2 else 1 end,
                1
            )
            + case when period ~ 'Q' then interval '3 months' else interval '1 year' end
            - interval '1 day'
        )::date as period_end_date,

        ---------- timestamps
        received_at,
        published_at,
        status_changed_at

    from source

)

select * from renamed
