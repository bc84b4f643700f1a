{#- The head every int_<kind>_reported model opens with: its import CTEs (the kind's staged rows, the published
    submissions) and `published`, the rows of published submissions only (write-audit-publish, applied once in
    int_submissions_published) with their submission's period, channel, publication time, submitter type and
    precedence rank. Called right after `with`; the model goes on from `published`. -#}
{% macro published_rows(kind) -%}
{{ kind }} as (

    select * from {{ ref('stg_raw__' ~ kind) }}

),

published_submissions as (

    select * from {{ ref('int_submissions_published') }}

),

published as (

    select
        {{ kind }}.*,
        published_submissions.submitter_code,
        published_submissions.reporting_period,
        published_submissions.reporting_year,
        published_submissions.period_start_date,
        published_submissions.period_end_date,
        published_submissions.is_annual,
        published_submissions.channel,
        published_submissions.published_at,
        published_submissions.submitter_type,
        published_submissions.precedence_rank
    from {{ kind }}
    inner join published_submissions
        on {{ kind }}.submission_id = published_submissions.submission_id

)
{%- endmacro %}
