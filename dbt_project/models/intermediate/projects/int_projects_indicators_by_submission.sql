{#- fct_projects added up per submission, district and start year: what rpt_innovation_indicators adds up per
    district and year (a few rows a submission, where the fact has one a project).

    Incremental (macros/report_watermarks.sql): a build adds up again only the submissions whose rows in
    fct_projects may have changed since the last one (submissions_of_keys_built) and drops the partials of
    submissions that left the fact. The indicators added up every fact row on every build (0.9 s at 1M rows). -#}
-- depends_on: {{ ref('stg_audit__submissions') }}, {{ ref('stg_raw__projects') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['submission_id', 'district_code', 'year_number'], 'unique': true}],
        pre_hook=[
            "{{ begin_report_build('select max(built_at) from ' ~ ref('fct_projects')) }}",
            "{{ report_index_scans() }}",
            "{{ delete_stale_partials(ref('fct_projects'), 'projects', 'project_code') }}",
        ],
        post_hook=["{{ record_report_watermark() }}", "{{ ensure_indexes() }}"]
    )
}}
{%- set since = report_watermark() %}

with

{% if since %}

    changed_submissions as (

        {{ submissions_of_keys_built(ref('fct_projects'), 'projects', 'project_code', since) }}

    ),

{% endif %}

projects as (

    select * from {{ ref('fct_projects') }}
    {% if since %}
        where submission_id = any(array(select changed_submissions.submission_id from changed_submissions))
    {% endif %}

),

final as (

    select
        submission_id::bigint as submission_id,
        district_code::text as district_code,
        extract(year from start_date)::integer as year_number,
        count(*)::bigint as projects_started,
        (count(*) filter (where project_level in ('national_major', 'national_key')))::bigint
            as national_projects_started,
        sum(
            coalesce(funding_central_yuan, 0) + coalesce(funding_municipal_yuan, 0)
            + coalesce(funding_district_yuan, 0) + coalesce(funding_self_raised_yuan, 0)
        )::numeric(20, 2) as project_funding_yuan
    from projects
    group by 1, 2, 3

)

select * from final
