{#- Reporting-period consistency (warnings, published with the data): what a row says about its own
    reporting period. A completed project ends within that period; a facility in operation started operating
    by its end; no start date is far before the programme (var period_start_floor, default 2000-01-01: the
    programme began in 2014, the oldest real facilities date from the 2000s).

    Incremental (macros/report_watermarks.sql): a build checks only the project rows built since the last one
    and replaces the findings of those codes, and of codes whose submission is no longer published; the
    facilities (a few thousand rows) are checked whole every time. It rewrote every finding of every project
    (2 s a build at 1M project rows). A change to the rules seed, the floor or this SQL checks everything again. -#}
-- depends_on: {{ ref('stg_audit__submissions') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['business_key']}, {'columns': ['submission_id']}, {'columns': ['submission_kind']}],
        report_inputs=['finding_rules'],
        report_vars=['period_start_floor'],
        pre_hook=[
            "{{ begin_report_build('select max(built_at) from ' ~ ref('fct_projects')) }}",
            "{{ delete_stale_report_rows(ref('fct_projects'), 'project_code', 'submission_kind', 'projects') }}",
        ],
        post_hook=[
            "{{ record_report_watermark() }}",
            "{{ ensure_indexes() }}",
        ]
    )
}}
{%- set since = report_watermark() %}

with

projects as (

    select * from {{ ref('fct_projects') }}
    where {{ report_read_window('built_at', since) }}

),

facilities as (

    select * from {{ ref('int_facilities_published') }}

),

rules as (

    select * from {{ ref('finding_rules') }}
    where rule_code = 'period_consistency'

),

project_rows as (

    select
        'projects' as submission_kind,
        project_code as business_key,
        submitter_code,
        submission_id,
        reporting_period,
        project_status as row_status,
        start_date,
        end_date as checked_date,
        case
            when project_status = 'completed' and end_date > {{ period_end('reporting_period') }}
                then 'completed_end_after_period'
        end as late_code,
        start_date as first_date
    from projects

),

facility_rows as (

    select
        'facilities' as submission_kind,
        facility_code as business_key,
        submitter_code,
        submission_id,
        reporting_period,
        facility_status as row_status,
        construction_start_date as start_date,
        operation_start_date as checked_date,
        case
            when facility_status = 'in_operation' and operation_start_date > {{ period_end('reporting_period') }}
                then 'operation_start_after_period'
        end as late_code,
        coalesce(construction_start_date, operation_start_date) as first_date
    from facilities

),

checked_rows as (

    select * from project_rows
    union all
    select * from facility_rows

),

flagged as (

    select
        submission_kind,
        business_key,
        submitter_code,
        submission_id,
        reporting_period,
        row_status,
        checked_date,
        late_code as finding_code,
        row_status || ' in period ' || reporting_period || ' but dated ' || checked_date::text
        || ', after the period ends (' || {{ period_end('reporting_period') }}::text || ')' as finding_detail
    from checked_rows
    where late_code is not null

    union all
    select
        submission_kind,
        business_key,
        submitter_code,
        submission_id,
        reporting_period,
        row_status,
        first_date as checked_date,
        'start_before_floor' as finding_code,
        'starts ' || first_date::text || ', before ' || '{{ var("period_start_floor", "2000-01-01") }}'
        || ' (far before the programme)' as finding_detail
    from checked_rows
    where first_date < '{{ var("period_start_floor", "2000-01-01") }}'::date

),

final as (

    select
        ---------- ids
        (flagged.submission_kind || '|' || flagged.business_key || '|' || flagged.finding_code)::text
            as period_finding_id,
        flagged.submission_kind::text as submission_kind,
        flagged.business_key::text as business_key,
        flagged.submitter_code::text as submitter_code,
        flagged.submission_id::bigint as submission_id,

        ---------- the check
        rules.rule_code::text as rule_code,
        flagged.finding_code::text as finding_code,
        rules.severity::text as severity,
        flagged.finding_detail::text as finding_detail,
        rules.guideline_text::text as guideline_text,

        ---------- the row
        flagged.reporting_period::text as reporting_period,
        flagged.row_status::text as row_status,
        flagged.checked_date::date as checked_date

    from flagged
    inner join rules
        on flagged.finding_code = rules.finding_code

)

select * from final
