{#- Post-hooks of the incremental models: indexes and planner statistics kept without rewriting the table. -#}

{#- dbt creates a model's `indexes` (config) only when it creates the table: an incremental table made by an
    earlier version of the project, or before an index joined the config, never gets it. This post-hook
    creates each configured index the table lacks (an index on the same columns in the same order, unique if
    the config says so, counts),
    and drops a second index on the same columns (earlier versions' hooks made one beside dbt's: twice the
    upkeep on every write). -#}
{% macro ensure_indexes() -%}
    {%- set statements = [] -%}
    {%- if execute -%}
        {%- set existing = run_query(
            "select index_class.relname, array_to_string(array(
                 select attributes.attname from unnest(indexes.indkey) with ordinality as keys (attnum, position)
                 inner join pg_catalog.pg_attribute as attributes
                     on attributes.attrelid = indexes.indrelid and attributes.attnum = keys.attnum
                 order by keys.position), ',') || case when indexes.indisunique then ' unique' else '' end
             from pg_catalog.pg_index as indexes
             inner join pg_catalog.pg_class as index_class on index_class.oid = indexes.indexrelid
             where indexes.indrelid = '" ~ this ~ "'::regclass and not indexes.indisprimary
             order by indexes.indexrelid"
        ) -%}
        {%- for index in config.get('indexes') or [] -%}
            {%- set wanted = index['columns'] | join(',') ~ (' unique' if index.get('unique') else '') -%}
            {%- set same = existing.rows | selectattr(1, 'equalto', wanted) | map(attribute=0) | list -%}
            {%- if not same -%}
                {%- do statements.append(
                    'create ' ~ ('unique ' if index.get('unique') else '') ~ 'index if not exists ' ~ adapter.quote(this.identifier ~ '_' ~ index['columns'] | join('_') ~ '_idx')
                    ~ ' on ' ~ this ~ ' (' ~ index['columns'] | join(', ') ~ ')') -%}
            {%- endif -%}
            {%- for extra in same[1:] -%}
                {%- do statements.append('drop index if exists ' ~ adapter.quote(this.schema) ~ '.' ~ adapter.quote(extra)) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{ (statements | join(';\n')) if statements else 'select 1 as indexes_in_place' }}
{%- endmacro %}

{#- ANALYZE when the planner's statistics no longer describe the table: never analyzed, or its size moved by
    more than a tenth since (pages on disk against pg_class.relpages, which ANALYZE and CREATE INDEX set).
    A first build or a backfill is analyzed before the models downstream plan against it; a submission of
    1 % of the table is not (ANALYZE samples the whole table: 0.2-0.3 s a model at 1M rows), and autovacuum
    analyzes after a tenth has changed. -#}
{% macro analyze_if_grown() -%}
    {%- if execute -%}
        {%- set stale = run_query(
            "select not exists (select 1 from pg_catalog.pg_stats where schemaname = '" ~ this.schema
            ~ "' and tablename = '" ~ this.identifier ~ "')
                 or abs(pg_relation_size('" ~ this ~ "'::regclass) / current_setting('block_size')::numeric
                        - relpages) > 0.1 * greatest(relpages, 1)
             from pg_catalog.pg_class where oid = '" ~ this ~ "'::regclass"
        ).rows[0][0] -%}
        {{ 'analyze ' ~ this if stale else 'select 1 as statistics_in_place' }}
    {%- endif -%}
{%- endmacro %}

{#- built_at: when the build that wrote a row took the ledger's publication lock (pre-hook stamp_built_at, after
    lock_ledger_publications), one value for every row of one build. The tests of a build read the rows of the
    latest (macros/test_scope.sql); the incremental reports read the fact rows built after the ones they have
    read (macros/report_watermarks.sql). Taken under the lock, not at dbt's start: builds of a fact follow
    each other, so a row committed after a report read the table has a later built_at than every row it read
    (dbt's run_started_at of a run that started first but took the lock second would not). -#}
{#- Pre-hook of a table whose builds must follow each other without the ledger's publication lock (the project
    history: it reads the published facts, not the ledger, and would otherwise hold up the facts' next
    publication): an advisory lock of the table's own, for the build's transaction; before stamp_built_at, so
    its stamps follow the order of its builds. A model that reads the table's newest rows takes the same lock
    (relation) before it takes its watermark, so no build of the table is in flight while it reads. -#}
{% macro lock_builds_of(relation=none) -%}
    select pg_advisory_xact_lock(hashtext('stic builds of {{ (relation or this).render() }}'))
{%- endmacro %}

{% macro stamp_built_at() -%}
    select set_config('stic.built_at', clock_timestamp()::text, true)
{%- endmacro %}

{% macro built_at() -%}
    current_setting('stic.built_at')::timestamptz
{%- endmacro %}
