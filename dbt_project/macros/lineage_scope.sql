{#- rpt_row_lineage, incremental (the model's header says why): the submissions whose status changed since
    {{ this }} was last built. Every status change after the latest publication the table holds: the model
    holds the ledger's publication lock (pre-hook lock_ledger_publications), so a change it cannot see commits
    after it with a later timestamp (as in incremental_changed_keys). -#}
{% macro lineage_changed_submissions() -%}
    select submissions.submission_id
    from {{ ref('stg_audit__submissions') }} as submissions
    where submissions.status_changed_at > (
        select coalesce(max(built.published_at), '-infinity'::timestamptz) from {{ this }} as built
    )
{%- endmacro %}


{#- The condition on a kind's raw rows (and on its mart) that a build re-reads: every row of the keys the
    changed submissions report (their own rows among them). = any(array(...)): read through the index on the
    key, whatever the planner guesses of the count (never an OR with another condition: PostgreSQL would then
    scan the table and compare each row with every key). -#}
{% macro lineage_scope(kind, key) -%}
    {{ key }} = any(array(
        select reported.{{ key }} from {{ ref('stg_raw__' ~ kind) }} as reported
        where reported.submission_id = any(array({{ lineage_changed_submissions() }}))
    ))
{%- endmacro %}


{#- A pre-hook of rpt_row_lineage: the changed submissions' rows leave before the model writes them again
    (rows of a load no longer in force are not written again). -#}
{% macro delete_lineage_of_changed_submissions() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as built
        where built.submission_id = any(array({{ lineage_changed_submissions() }}))
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
