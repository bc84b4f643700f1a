{#- Each submitter's latest report of a key; a key whose submitters disagree is a conflict.
    Only keys reported by more than one submitter are read (macro latest_reports_of_shared_keys).

    Incremental (macros/report_watermarks.sql): a key's conflict can change only when a submission that reports
    it changes status, so a build reads the keys of submissions whose status changed after its watermark and
    replaces their rows. Finding the shared keys read every published raw row (1.5 s a build at 1M project
    rows). A change to the submitters seed (precedence) or this SQL reads everything again. -#}
-- depends_on: {{ ref('stg_audit__submissions') }}, {{ ref('submitters') }}
{%- set kinds = {
    'projects': ['project_code'], 'facilities': ['facility_code'],
    'platform_assessments': ['platform_code', 'assessment_year'], 'ip_transactions': ['transaction_code'],
} %}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        report_inputs=['submitters'],
        pre_hook=[
            "{{ begin_report_build('select max(status_changed_at) from ' ~ ref('stg_audit__submissions'),
                                   hold_publications=true) }}",
            "{{ delete_stale_conflicts({
                'projects': ['project_code'], 'facilities': ['facility_code'],
                'platform_assessments': ['platform_code', 'assessment_year'], 'ip_transactions': ['transaction_code'],
            }) }}",
        ],
        post_hook="{{ record_report_watermark() }}"
    )
}}
{%- set since = report_watermark() %}

with

projects as (

    {{ latest_reports_of_shared_keys('projects', kinds['projects'], since) }}

),

facilities as (

    {{ latest_reports_of_shared_keys('facilities', kinds['facilities'], since) }}

),

platform_assessments as (

    {{ latest_reports_of_shared_keys('platform_assessments', kinds['platform_assessments'], since) }}

),

ip_transactions as (

    {{ latest_reports_of_shared_keys('ip_transactions', kinds['ip_transactions'], since) }}

),

latest_reports as (

    select
        'projects' as submission_kind,
        project_code as business_key,
        submitter_code,
        submission_id,
        row_fingerprint,
        is_canonical,
        district_code,
        is_other_district_report
    from projects
    where submitter_report_rank = 1

    union all
    select
        'facilities' as submission_kind,
        facility_code as business_key,
        submitter_code,
        submission_id,
        row_fingerprint,
        is_canonical,
        district_code,
        is_other_district_report
    from facilities
    where submitter_report_rank = 1

    union all
    select
        'platform_assessments' as submission_kind,
        platform_code || '|' || assessment_year::text as business_key,
        submitter_code,
        submission_id,
        row_fingerprint,
        is_canonical,
        null::text as district_code,
        false as is_other_district_report
    from platform_assessments
    where submitter_report_rank = 1

    union all
    select
        'ip_transactions' as submission_kind,
        transaction_code as business_key,
        submitter_code,
        submission_id,
        row_fingerprint,
        is_canonical,
        null::text as district_code,
        false as is_other_district_report
    from ip_transactions
    where submitter_report_rank = 1

),

conflicts as (

    select
        submission_kind,
        business_key,
        count(distinct submitter_code) as submitter_count,
        count(distinct row_fingerprint) as version_count,
        string_agg(submitter_code, ',' order by submitter_code) as submitter_codes,
        max(submitter_code) filter (where is_canonical) as canonical_submitter_code,
        max(submission_id) filter (where is_canonical) as canonical_submission_id,
        max(district_code) filter (where is_canonical) as canonical_district_code,
        string_agg(
            submitter_code || ':' || coalesce(district_code, ''), ',' order by submitter_code
        ) as reported_district_codes,
        count(distinct district_code) > 1 or bool_or(is_other_district_report) as is_district_clash
    from latest_reports
    group by 1, 2
    having count(distinct submitter_code) > 1 and count(distinct row_fingerprint) > 1

),

final as (

    select
        ---------- ids
        (submission_kind || '|' || business_key)::text as conflict_id,
        submission_kind::text as submission_kind,
        business_key::text as business_key,
        canonical_submitter_code::text as canonical_submitter_code,
        canonical_submission_id::bigint as canonical_submission_id,

        ---------- attributes
        submitter_codes::text as submitter_codes,
        submitter_count::integer as submitter_count,
        version_count::integer as version_count,
        canonical_district_code::text as canonical_district_code,
        reported_district_codes::text as reported_district_codes,
        coalesce(is_district_clash, false)::boolean as is_district_clash

    from conflicts

)

select * from final
