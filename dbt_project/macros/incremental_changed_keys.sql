{#- For an incremental fact keyed on a business key: the keys whose canonical record may have changed
    since {{ this }} was last built, so that a run reads and ranks only them (cost follows the new
    submissions, not the warehouse).

    A key can change only when a submission that reports it changes status (published, superseded,
    withdrawn): its rows in raw are found through their submission_id (indexed). "Since the last build" is
    every status change at or after the latest publication the table holds, less an hour: a publishing
    transaction still open while the last build read the ledger is picked up by the next one (keys read
    twice are rebuilt twice, to the same result). -#}
{% macro incremental_changed_keys(kind, key) -%}
    select distinct reported.{{ key }}
    from {{ ref('stg_raw__' ~ kind) }} as reported
    where reported.submission_id in (
        select submissions.submission_id
        from {{ ref('stg_audit__submissions') }} as submissions
        where
            submissions.submission_kind = '{{ kind }}'
            and submissions.status_changed_at >= (
                select coalesce(max(built.published_at), '-infinity'::timestamptz) - interval '1 hour'
                from {{ this }} as built
            )
    )
{%- endmacro %}

{#- Rows whose submission is no longer published (superseded by a correction that dropped the key, or
    withdrawn) leave the table: a post-hook of the incremental facts. -#}
{% macro delete_unpublished_rows() -%}
    delete from {{ this }} as built
    where built.submission_id in (
        select submissions.submission_id
        from {{ ref('stg_audit__submissions') }} as submissions
        where not submissions.is_published
    )
{%- endmacro %}
