with

submissions as (

    select * from {{ ref('stg_audit__submissions') }}

),

submitters as (

    select * from {{ ref('submitters') }}

),

expected as (

    select
        submitters.submitter_code,
        'projects' as submission_kind,
        years.reporting_year
    from submitters
    cross join generate_series(2014, 2019) as years (reporting_year)
    where submitters.submitter_type = 'district'

),

received as (

    select
        submitter_code,
        submission_kind,
        reporting_year,
        count(*) as submissions_received,
        count(*) filter (where submission_status = 'published') as submissions_published,
        count(*) filter (where submission_status = 'rejected') as submissions_rejected,
        count(*) filter (where submission_status = 'superseded') as submissions_superseded,
        count(*) filter (where submission_status = 'duplicate') as submissions_duplicate,
        count(*) filter (
            where submission_status in ('received', 'parsed', 'validated')
        ) as submissions_in_progress,
        max(received_at) as last_received_at
    from submissions
    group by 1, 2, 3

),

grid as (

    select
        submitter_code,
        submission_kind,
        reporting_year
    from expected
    union
    select
        submitter_code,
        submission_kind,
        reporting_year
    from received

),

joined as (

    select
        grid.submitter_code,
        grid.submission_kind,
        grid.reporting_year,
        expected.submitter_code is not null as is_expected,
        coalesce(received.submissions_received, 0) as submissions_received,
        coalesce(received.submissions_published, 0) as submissions_published,
        coalesce(received.submissions_rejected, 0) as submissions_rejected,
        coalesce(received.submissions_superseded, 0) as submissions_superseded,
        coalesce(received.submissions_duplicate, 0) as submissions_duplicate,
        coalesce(received.submissions_in_progress, 0) as submissions_in_progress,
        received.last_received_at
    from grid
    left join expected
        on
            grid.submitter_code = expected.submitter_code
            and grid.submission_kind = expected.submission_kind
            and grid.reporting_year = expected.reporting_year
    left join received
        on
            grid.submitter_code = received.submitter_code
            and grid.submission_kind = received.submission_kind
            and grid.reporting_year = received.reporting_year

),

final as (

    select
        ---------- ids
        (submitter_code || '|' || submission_kind || '|' || reporting_year::text)::text as completeness_id,
        submitter_code::text as submitter_code,
        submission_kind::text as submission_kind,
        reporting_year::integer as reporting_year,

        ---------- attributes
        is_expected::boolean as is_expected,
        (
            case
                when submissions_received = 0 then 'missing'
                when submissions_published > 0 then 'published'
                when submissions_in_progress > 0 then 'in_progress'
                else 'not_published'
            end
        )::text as completeness_status,

        ---------- counts
        submissions_received::integer as submissions_received,
        submissions_published::integer as submissions_published,
        submissions_rejected::integer as submissions_rejected,
        submissions_superseded::integer as submissions_superseded,
        submissions_duplicate::integer as submissions_duplicate,

        ---------- timestamps
        last_received_at::timestamptz as last_received_at

    from joined

)

select * from final
