with

calendar as (

    select * from {{ ref('submission_calendar') }}

),

submissions as (

    select * from {{ ref('stg_audit__submissions') }}

),

as_of as (

    -- var calendar_as_of_date (YYYY-MM-DD) judges the calendar as of another day; default today in Shanghai
    select
        {% if var('calendar_as_of_date', none) -%}
            '{{ var("calendar_as_of_date") }}'::date
        {%- else -%}
            (now() at time zone 'Asia/Shanghai')::date
        {%- endif %} as as_of_date

),

periods as (

    select
        calendar.submitter_code,
        calendar.submitter_type,
        calendar.submission_kind,
        calendar.frequency,
        calendar.grace_days,
        calendar.due_months,
        calendar.due_days,
        years.reporting_year,
        quarters.quarter_number,
        make_date(years.reporting_year, coalesce(quarters.quarter_number * 3 - 2, 1), 1) as period_start_date
    from calendar
    cross join lateral generate_series(calendar.first_year, calendar.last_year) as years (reporting_year)
    left join lateral generate_series(1, 4) as quarters (quarter_number)
        on calendar.frequency = 'quarterly'

),

obligations as (

    select
        periods.submitter_code,
        periods.submitter_type,
        periods.submission_kind,
        periods.frequency,
        periods.grace_days,
        periods.due_months,
        periods.due_days,
        periods.reporting_year,
        periods.period_start_date,
        periods.reporting_year::text
        || coalesce('Q' || periods.quarter_number::text, '') as reporting_period,
        (
            periods.period_start_date
            + case when periods.quarter_number is null then interval '1 year' else interval '3 months' end
            - interval '1 day'
        )::date as period_end_date
    from periods

),

dated as (

    select
        *,
        (period_end_date + make_interval(months => due_months, days => due_days))::date as due_date
    from obligations

),

listed as (

    select
        dated.*,
        (dated.due_date + dated.grace_days)::date as late_after_date,
        as_of.as_of_date
    from dated
    cross join as_of
    where dated.period_start_date <= as_of.as_of_date

),

-- a submission for the period, or for the whole year of a quarter (a yearly file covers its quarters),
-- received by the day the calendar is judged as of
matched as (

    select
        listed.submitter_code,
        listed.submission_kind,
        listed.reporting_period,
        submissions.submission_id,
        submissions.submission_status,
        submissions.is_nil_declaration,
        submissions.received_at,
        (submissions.received_at at time zone 'Asia/Shanghai')::date as received_date
    from listed
    inner join submissions
        on
            listed.submitter_code = submissions.submitter_code
            and listed.submission_kind = submissions.submission_kind
            and (
                listed.reporting_period = submissions.reporting_period
                or listed.reporting_year::text = submissions.reporting_period
            )
            and (submissions.received_at at time zone 'Asia/Shanghai')::date <= listed.as_of_date

),

-- published (or published, then corrected) submissions met the obligation; the first one says when
satisfied as (

    select distinct on (submitter_code, submission_kind, reporting_period)
        submitter_code,
        submission_kind,
        reporting_period,
        submission_id as satisfied_by_submission_id,
        received_at as satisfied_received_at,
        received_date as satisfied_received_date
    from matched
    where submission_status in ('published', 'superseded')
    order by submitter_code, submission_kind, reporting_period, received_at, submission_id

),

current_publication as (

    select distinct on (submitter_code, submission_kind, reporting_period)
        submitter_code,
        submission_kind,
        reporting_period,
        submission_id as published_submission_id,
        is_nil_declaration as is_nil_declared
    from matched
    where submission_status = 'published'
    order by submitter_code asc, submission_kind asc, reporting_period asc, submission_id desc

),

received as (

    select
        submitter_code,
        submission_kind,
        reporting_period,
        count(*) as submissions_received,
        count(*) filter (where submission_status = 'rejected') as submissions_rejected,
        count(*) filter (
            where submission_status in ('received', 'parsed', 'validated')
        ) as submissions_in_progress,
        max(received_at) as last_received_at
    from matched
    group by submitter_code, submission_kind, reporting_period

),

joined as (

    select
        listed.*,
        satisfied.satisfied_by_submission_id,
        satisfied.satisfied_received_at,
        satisfied.satisfied_received_date,
        current_publication.published_submission_id,
        coalesce(current_publication.is_nil_declared, false) as is_nil_declared,
        coalesce(received.submissions_received, 0) as submissions_received,
        coalesce(received.submissions_rejected, 0) as submissions_rejected,
        coalesce(received.submissions_in_progress, 0) as submissions_in_progress,
        received.last_received_at
    from listed
    left join satisfied
        on
            listed.submitter_code = satisfied.submitter_code
            and listed.submission_kind = satisfied.submission_kind
            and listed.reporting_period = satisfied.reporting_period
    left join current_publication
        on
            listed.submitter_code = current_publication.submitter_code
            and listed.submission_kind = current_publication.submission_kind
            and listed.reporting_period = current_publication.reporting_period
    left join received
        on
            listed.submitter_code = received.submitter_code
            and listed.submission_kind = received.submission_kind
            and listed.reporting_period = received.reporting_period

),

judged as (

    select
        *,
        case
            when satisfied_by_submission_id is not null and is_nil_declared then 'nil_declared'
            when satisfied_by_submission_id is not null and satisfied_received_date > late_after_date then 'late'
            when satisfied_by_submission_id is not null then 'received'
            when submissions_in_progress > 0 then 'in_progress'
            when as_of_date > late_after_date then 'missing'
            else 'not_due'
        end as calendar_state,
        case
            when satisfied_by_submission_id is not null
                then greatest(satisfied_received_date - due_date, 0)
            when as_of_date > due_date then as_of_date - due_date
            else 0
        end as days_late
    from joined

),

final as (

    select
        ---------- ids
        (submitter_code || '|' || submission_kind || '|' || reporting_period)::text as calendar_item_id,
        submitter_code::text as submitter_code,
        submission_kind::text as submission_kind,
        reporting_period::text as reporting_period,
        satisfied_by_submission_id::bigint as satisfied_by_submission_id,
        published_submission_id::bigint as published_submission_id,

        ---------- attributes
        submitter_type::text as submitter_type,
        frequency::text as frequency,
        reporting_year::integer as reporting_year,
        calendar_state::text as calendar_state,
        is_nil_declared::boolean as is_nil_declared,
        grace_days::integer as grace_days,
        days_late::integer as days_late,

        ---------- counts
        submissions_received::integer as submissions_received,
        submissions_rejected::integer as submissions_rejected,
        submissions_in_progress::integer as submissions_in_progress,

        ---------- dates
        period_start_date::date as period_start_date,
        period_end_date::date as period_end_date,
        due_date::date as due_date,
        late_after_date::date as late_after_date,
        as_of_date::date as as_of_date,

        ---------- timestamps
        satisfied_received_at::timestamptz as satisfied_received_at,
        last_received_at::timestamptz as last_received_at

    from judged

)

select * from final
