{#- Each submitter's latest report (submitter_report_rank 1) of the business keys that more than one
    submitter reports; the input of rpt_reporting_conflicts.

    Only such keys can be conflicts, and they are few: they are found by one aggregate over raw rows of
    published submissions, and only they are ranked (a lateral subquery per key; offset 0 keeps it a
    subquery, so the key is pushed below the ranking windows and read through the raw table's key
    index). Ranking and fingerprinting every published row took most of a 1M-row warehouse's build. -#}
{% macro latest_reports_of_shared_keys(kind, keys, since=none) -%}
    select reported.*
    from (
        select {{ keys | join(', ') }}
        from (
            select distinct
                {% for k in keys %}raw_rows.{{ k }}, {% endfor %}published.submitter_code
            from {{ ref('stg_raw__' ~ kind) }} as raw_rows
            inner join {{ ref('int_submissions_published') }} as published
                on raw_rows.submission_id = published.submission_id
            {% if since -%}
                {#- an incremental build: the keys of submissions whose status changed since (through the raw
                    table's key index) -#}
                where raw_rows.{{ keys[0] }} = any(array({{ keys_of_changed_submissions(kind, keys[0], since) }}))
            {%- endif %}
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


{#- The keys (first key column) reported by submissions of a kind whose status changed after `since`. -#}
{% macro keys_of_changed_submissions(kind, key, since) -%}
    select distinct changed_rows.{{ key }}
    from {{ ref('stg_raw__' ~ kind) }} as changed_rows
    where changed_rows.submission_id = any(array(
        select submissions.submission_id
        from {{ ref('stg_audit__submissions') }} as submissions
        where
            submissions.submission_kind = '{{ kind }}'
            and {{ report_read_window('submissions.status_changed_at', since) }}
    ))
{%- endmacro %}

{#- Pre-hook of rpt_reporting_conflicts: before an incremental build adds the conflicts of the keys whose
    reports changed status since its watermark, remove its rows of those keys (a key of several columns, a
    platform's assessment years, by its first column); every row when the build reads everything again.
    Conflicts are few, so a hash join over the table is cheap. -#}
{% macro delete_stale_conflicts(kinds) -%}
    {%- set since = report_watermark() -%}
    {%- if since -%}
        {%- for kind, keys in kinds.items() %}
            delete from {{ this }} as built
            using ({{ keys_of_changed_submissions(kind, keys[0], since) }}) as changed
            where
                built.submission_kind = '{{ kind }}'
                and {% if keys | length > 1 -%}
                    split_part(built.business_key, '|', 1) = changed.{{ keys[0] }}
                {%- else -%}
                    built.business_key = changed.{{ keys[0] }}
                {%- endif %}{{ ';' if not loop.last }}
        {%- endfor %}
    {%- else -%}
        {{ delete_all_when_reading_everything() }}
    {%- endif -%}
{%- endmacro %}
