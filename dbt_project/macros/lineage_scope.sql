{#- rpt_row_lineage, incremental (the model's header says why; it holds the publication lock, so the
    changed_submissions watermark is exact). The condition on a kind's raw rows (and on its mart) that a
    build re-reads: every row of the keys the changed submissions (of every kind) report, their own rows
    among them. = any(array(...)): read through the index on the key, whatever the planner guesses of the
    count (never an OR with another condition: PostgreSQL would then scan the table and compare each row
    with every key). -#}
{% macro lineage_scope(kind, key) -%}
    {{ key }} = any(array(
        select reported.{{ key }} from {{ ref('stg_raw__' ~ kind) }} as reported
        where reported.submission_id = any(array({{ changed_submissions() }}))
    ))
{%- endmacro %}


{#- A pre-hook of rpt_row_lineage: the changed submissions' rows leave before the model writes them again
    (rows of a load no longer in force are not written again). -#}
{% macro delete_lineage_of_changed_submissions() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as built
        where built.submission_id = any(array({{ changed_submissions() }}))
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
