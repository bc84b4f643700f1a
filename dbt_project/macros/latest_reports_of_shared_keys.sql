{#- Each submitter's latest report (submitter_report_rank 1) of the business keys that more than one
    submitter reports; the input of rpt_reporting_conflicts.

    Only such keys can be conflicts, and they are few: they are found by one aggregate over raw rows of
    published submissions, and only they are ranked (a lateral subquery per key; offset 0 keeps it a
    subquery, so the key is pushed below the ranking windows and read through the raw table's key
    index). Ranking and fingerprinting every published row took most of a 1M-row warehouse's build. -#}
{% macro latest_reports_of_shared_keys(kind, keys) -%}
    select reported.*
    from (
        select {{ keys | join(', ') }}
        from (
            select distinct
                {% for k in keys %}raw_rows.{{ k }}, {% endfor %}published.submitter_code
            from {{ ref('stg_raw__' ~ kind) }} as raw_rows
            inner join {{ ref('int_submissions_published') }} as published
                on raw_rows.submission_id = published.submission_id
        ) as key_submitters
        group by {% for k in keys %}{{ loop.index }}{{ ', ' if not loop.last }}{% endfor %}
        having count(*) > 1
    ) as shared
    cross join lateral (
        select * from {{ ref('int_' ~ kind ~ '_reported') }} as ranked
        where
            {% for k in keys %}ranked.{{ k }} = shared.{{ k }} and {% endfor %}ranked.submitter_report_rank = 1
        offset 0
    ) as reported
{%- endmacro %}
