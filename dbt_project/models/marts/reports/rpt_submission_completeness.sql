with

submissions as (

    select * from {{ ref('stg_audit__submissions') }}

),

calendar as (

    select * from {{ ref('rpt_submission_calendar') }}

),

expected as (

    select
        submitter_code,
        submission_kind,
        reporting_year,
        count(*) as items_expected,
        count(*) filter (where calendar_state = 'missing') as items_missing,
        count(*) filter (where calendar_state = 'late') as items_late,
        count(*) filter (where calendar_state = 'nil_declared') as items_nil_declared,
        count(*) filter (where calendar_state = 'not_due') as items_not_due
    from calendar
    group by 1, 2, 3

),

received as (

    select
        submitter_code,
        submission_kind,
        reporting_year,
        count(*) as submissions_received,
        count(*) filter (where submission_status = 'published') as submissions_published,
        count(*) filter (
            where submission_status = 'published' and is_nil_declaration
        ) as submissions_nil_declared,
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
        coalesce(expected.items_expected, 0) as items_expected,
        coalesce(expected.items_missing, 0) as items_missing,
        coalesce(expected.items_late, 0) as items_late,
        coalesce(expected.items_nil_declared, 0) as items_nil_declared,
        coalesce(expected.items_not_due, 0) as items_not_due,
        coalesce(received.submissions_received, 0) as submissions_received,
        coalesce(received.submissions_published, 0) as submissions_published,
        coalesce(received.submissions_nil_declared, 0) as submissions_nil_declared,
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
                when submissions_received = 0 and items_expected > 0 and items_not_due = items_expected
                    then 'not_due'
                when submissions_received = 0 then 'missing'
                when submissions_published > 0 and submissions_published = submissions_nil_declared
                    then 'nil_declared'
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
        submissions_nil_declared::integer as submissions_nil_declared,
        items_expected::integer as items_expected,
        items_missing::integer as items_missing,
        items_late::integer as items_late,
        items_nil_declared::integer as items_nil_declared,

        ---------- timestamps
        last_received_at::timestamptz as last_received_at

    from joined

)

select * from final
