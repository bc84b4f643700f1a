{#- For an incremental fact keyed on a business key: the keys whose canonical record may have changed
    since {{ this }} was last built, so that a run reads and ranks only them (cost follows the new
    submissions, not the warehouse).

    A key can change only when a submission that reports it changes status (published, superseded,
    withdrawn): its rows in raw are found through their submission_id (indexed). "Since the last build" is
    every status change after the latest publication the table holds. That needs no safety margin
    because the model holds the ledger's publication lock (pre-hook lock_ledger_publications): every
    publication it cannot see commits after it, with a timestamp taken after the lock (stic.ledger.set_status). -#}
{% macro incremental_changed_keys(kind, key) -%}
    {#- = any(array(...)): the few changed submissions' rows through the index on submission_id (a semi-join
        was planned as a scan of every raw row: 0.47 s of 0.02 s at 1M rows). A caller filtering a mart on
        the keys does the same: key = any(array(incremental_changed_keys(...))). -#}
    select distinct reported.{{ key }}
    from {{ ref('stg_raw__' ~ kind) }} as reported
    where reported.submission_id = any(array({{ changed_submissions(kind) }}))
{%- endmacro %}

{#- The submissions (of one kind, or of every kind) whose status changed since {{ this }} was last built:
    every status change after the latest publication the table holds (incremental_changed_keys says why that
    is exact). Every incremental model of the project reads its changes through this. -#}
{% macro changed_submissions(kind=none) -%}
    select submissions.submission_id
    from {{ ref('stg_audit__submissions') }} as submissions
    where
        {% if kind %}submissions.submission_kind = '{{ kind }}' and {% endif -%}
        submissions.status_changed_at > (
            select coalesce(max(built.published_at), '-infinity'::timestamptz)
            from {{ this }} as built
        )
{%- endmacro %}

{#- Rows whose submission is no longer published (superseded by a correction that dropped the key, or
    withdrawn) leave the table: a post-hook of the incremental facts. -#}
{% macro delete_unpublished_rows() -%}
    {#- = any(array(...)): through the index on submission_id (a semi-join scanned the table: 0.36 s for no
        row at 3M funding rows) -#}
    delete from {{ this }} as built
    where built.submission_id = any(array(
        select submissions.submission_id
        from {{ ref('stg_audit__submissions') }} as submissions
        where not submissions.is_published
    ))
{%- endmacro %}


{#- A pre-hook of the models that read the ledger incrementally: wait for transactions that publish or
    unpublish submissions to commit, and hold new ones until this model commits. The lock's name is the var
    stic_publication_lock, which stic sets from stic.ledger.PUBLICATION_LOCK (the name the ledger locks). -#}
{% macro lock_ledger_publications() -%}
    select pg_advisory_xact_lock(hashtext('{{ var("stic_publication_lock") }}'))
{%- endmacro %}

{#- True when a run should read only the changed keys: is_incremental(), {{ this }} already has the
    published_at watermark (a table of an earlier version of the project, without it, is rebuilt once),
    and the changes are few. Per key, ranking costs ~35 us against ~10 us per row of a full ranking, so a
    change of more than a tenth of the table (a big backfill, a first load) ranks everything instead,
    keeping only the changed keys. Without a kind: the changes of every kind (rpt_row_lineage). The var
    stic_few_changes (default 10,000 rows) lets a test take the other path with few rows. -#}
{% macro reads_changes_only(kind=none) -%}
    {%- if not is_incremental() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- if 'published_at' not in columns -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set of_kind = "submissions.submission_kind = '" ~ kind ~ "' and " if kind else "" -%}
    {%- set few = run_query(
        "select (select coalesce(sum(submissions.rows_loaded), 0) from " ~ ref('stg_audit__submissions')
        ~ " as submissions where " ~ of_kind ~ "submissions.status_changed_at > "
        ~ "(select coalesce(max(built.published_at), '-infinity'::timestamptz) from " ~ this ~ " as built))"
        ~ " <= (select greatest(" ~ var('stic_few_changes', 10000) ~ ", 0.1 * reltuples) from pg_class"
        ~ " where oid = '" ~ this ~ "'::regclass)"
    ) -%}
    {{ return(few.rows[0][0]) }}
{%- endmacro %}


{#- For a history kept by its own model (slowly changing dimension type 2 over a fact, e.g.
    fct_projects_history over fct_projects): the keys whose canonical record may have changed since
    {{ this }} was last built. A fact's record changes only when a submission reporting the key changes status:
    its new record is then a fact row of a newly published submission, or the key's current version names a
    submission no longer published (superseded, withdrawn: the key moved to another report, or left the fact).
    "Since the last build" as in incremental_changed_keys: every status change after the latest publication
    the history holds (the fact, built first in the same run, held the ledger's publication lock). -#}
{% macro scd2_changed_keys(fact_name, key) -%}
    {#- = any(array(...)): a few submissions, read through the submission_id indexes (a semi-join is planned
        for a whole table, and the plan's cost alone made PostgreSQL JIT-compile it: seconds). -#}
    with changed as materialized ({{ changed_submissions() }})
    select facts.{{ key }}
    from {{ ref(fact_name) }} as facts
    where facts.submission_id = any(array(select changed.submission_id from changed))
    union
    select built.{{ key }}
    from {{ this }} as built
    where
        built.is_current
        and built.submission_id = any(array(select changed.submission_id from changed))
{%- endmacro %}

{#- Pre-hook of the incremental models: on the changed-keys path, their = any(array(...)) conditions are read
    through indexes. The planner cannot count such an array (it assumes ten elements); on a column with few
    distinct values (submission_id in a warehouse of a few huge submissions) it estimated most of the table,
    chose a sequential scan and compared every row with every element of the array: at 10M project rows the
    history's build after one 10,000-row submission ran for minutes (10M rows x 10,000 keys). With sequential
    scans off for the model's transaction the arrays are index conditions (each model has an index on every
    column it reads so), and without JIT (costed as if they read the table, they were compiled for longer than
    they ran; begin_report_build says more); a big change (reads_changes_only false) keeps the planner's own
    choice. -#}
{% macro index_scans_for_changes(kind=none) -%}
    {{ 'set local enable_seqscan = off; set local jit = off' if reads_changes_only(kind)
       else 'select 1 as planner_as_configured' }}
{%- endmacro %}

{#- dbt's delete+insert, for every incremental model here: its delete of the keys it replaces runs with nested
    loops allowed, whatever the model's pre-hooks set for its own query (rpt_row_lineage turns them off). The
    keys are those of the change (a few thousand); each is one probe of the target's unique-key index, where a
    plan without nested loops merge-joined them with a scan of that whole index: 2 s of the lineage's build at
    10M project rows. -#}
{% macro postgres__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    set local enable_nestloop = on;
    {{ default__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) }}
{%- endmacro %}
