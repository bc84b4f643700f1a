{#- Reports kept incrementally. A report over the facts reads only the fact rows built after those it has
    read (built_at, macros/table_maintenance.sql), or only the keys of submissions whose status changed after
    those it has read (status_changed_at); it replaces its rows of those keys and keeps the rest.

    Up to where each report has read is kept in a table of its own (intermediate.report_watermarks, one row
    per report), written in the report's own transaction by its post-hook: a report's rows can be few or none,
    so it cannot find out from them where it stopped, as the facts do (max(published_at)).

    The watermark is taken before the report reads (pre-hook begin_report_build), so nothing it has not read
    is recorded as read. A fact's builds follow each other under the ledger's publication lock and stamp their
    rows after taking it (built_at), so whatever commits after the watermark carries a later time. Status
    changes take that lock shared, so two of them can commit out of the order of their times: a report whose
    watermark is a status_changed_at holds the lock (hold_publications) from before it takes the watermark
    until it commits, as the incremental facts do. The build deletes and reads the rows stamped after the
    watermark it started from and up to the one it took (report_read_window): a row committed in between is
    left to the next build, so what it deletes and what it adds are the same keys. Builds of one report follow
    each other (an advisory lock of its own).

    What a report's rows are made of besides what it reads incrementally (its own SQL, the seeds and vars it
    names) is fingerprinted: when any of it changes, the next build reads everything again, as a full refresh
    would, in the same table (its grants and row-level security stay). -#}

{% macro report_watermarks_relation() -%}
    {{ return(api.Relation.create(database=target.database, schema='intermediate', identifier='report_watermarks')) }}
{%- endmacro %}

{#- The fingerprint of what a report is made of besides its incremental input: the model's SQL (checksum), the
    values of the vars named in its config report_vars, and the whole content of the seeds and models named in
    report_inputs (small ones: code lists, rules). -#}
{% macro report_fingerprint() -%}
    {%- set values = {} -%}
    {%- for name in config.get('report_vars') or [] -%}
        {%- do values.update({name: var(name, none)}) -%}
    {%- endfor -%}
    {%- set parts = ["'" ~ model.checksum.checksum ~ "'", "'" ~ (tojson(values) | replace("'", "''")) ~ "'"] -%}
    {%- for name in config.get('report_inputs') or [] -%}
        {%- do parts.append("(select coalesce(md5(string_agg(input_rows::text, '|' order by input_rows::text)), '') from "
            ~ ref(name) ~ " as input_rows)") -%}
    {%- endfor -%}
    {{ return(run_query("select md5(concat_ws('|', " ~ parts | join(', ') ~ "))").rows[0][0]) }}
{%- endmacro %}

{#- Where an incremental build of this report starts reading: the watermark it recorded with the same
    fingerprint, as text; none when it must read everything (the first build, a full refresh, a changed input). -#}
{% macro report_watermark() -%}
    {#- a unit test has no table (this is none): it reads its given rows whole -#}
    {%- if not execute or this is none or not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set state = report_watermarks_relation() -%}
    {%- if load_relation(state) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query(
        "select built_through::text from " ~ state ~ " where report_name = '" ~ this.identifier
        ~ "' and inputs_fingerprint = '" ~ report_fingerprint() ~ "'"
    ) -%}
    {{ return(found.rows[0][0] if found.rows else none) }}
{%- endmacro %}

{#- Pre-hook, first: wait for another build of this report to end, and take the watermark this build reads up
    to (read_through: a query, e.g. the max built_at of the fact it reads) before it reads anything; under the
    ledger's publication lock when the watermark is a time of status changes (hold_publications).
    An incremental build runs without JIT: the planner cannot count its = any(array(...)) conditions (it
    assumes ten elements, or most of a column with few distinct values), costs its statements as if they read
    the warehouse, and past jit_optimize_above_cost it compiled for seconds what then ran in milliseconds (the
    conflicts report at 10M project rows: 3.1 s of JIT for a 40 ms statement, holding the publication lock that
    fct_projects waited on). A build that reads everything keeps JIT for its aggregates over every row. -#}
{% macro begin_report_build(read_through, hold_publications=false) -%}
    select pg_advisory_xact_lock(hashtext('stic report {{ this }}'));
    {% if hold_publications %}{{ lock_ledger_publications() }};{% endif %}
    {% if report_watermark() %}set local jit = off;{% endif %}
    select set_config(
        'stic.report_read_through', coalesce(({{ read_through }}), '-infinity'::timestamptz)::text, true
    )
{%- endmacro %}

{#- The rows a build reads, by their stamp (column): after the watermark it started from (since), up to the
    one begin_report_build took. A unit test runs no hook: it reads its given rows whole. -#}
{% macro report_read_window(column, since) -%}
    {%- if this is none -%}
        true
    {%- else -%}
        {%- if since -%}{{ column }} > '{{ since }}'::timestamptz and {% endif -%}
        {{ column }} <= current_setting('stic.report_read_through')::timestamptz
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: record the watermark taken by begin_report_build, with the fingerprint of the other inputs. -#}
{% macro record_report_watermark() -%}
    {%- set state = report_watermarks_relation() -%}
    create table if not exists {{ state }} (
        report_name text primary key,
        inputs_fingerprint text not null,
        built_through timestamptz not null,
        recorded_at timestamptz not null
    );
    insert into {{ state }} (report_name, inputs_fingerprint, built_through, recorded_at)
    values (
        '{{ this.identifier }}', '{{ report_fingerprint() if execute else "" }}',
        current_setting('stic.report_read_through')::timestamptz, now()
    )
    on conflict (report_name) do update set
        inputs_fingerprint = excluded.inputs_fingerprint,
        built_through = excluded.built_through,
        recorded_at = excluded.recorded_at
{%- endmacro %}

{#- The submissions no longer published (superseded, withdrawn): a report row that names one is stale. -#}
{% macro unpublished_submissions() -%}
    select submissions.submission_id
    from {{ ref('stg_audit__submissions') }} as submissions
    where not submissions.is_published
{%- endmacro %}

{#- Pre-hook of a report whose rows of one kind are read incrementally from a fact (fact_kind, rows keyed on
    business_key by the fact's fact_key) and whose rows of every other kind (kind_column) are made whole each
    build: before the build adds its new rows, remove those it replaces. Rows of keys the fact built since the
    watermark, rows naming a submission no longer published (a key that left the fact: superseded, withdrawn),
    every row of the other kinds; everything when the build reads everything again. -#}
{% macro delete_stale_report_rows(fact, fact_key, kind_column, fact_kind) -%}
    {%- set since = report_watermark() -%}
    {%- if since -%}
        {#- the other kinds' rows (a few thousand), then the rows of keys built and of unpublished submissions,
            each through its index: sequential scans are off for those two statements (an `or` of them, or an
            = any(array(...)) the planner put in a sequential scan, compared every row with every new key: 22 s
            at 1M project rows, 189 s at 10M; index_scans_for_changes says why the planner does that). The other
            kinds as two ranges of the kind column's index: `!=` cannot use one, and read every row of the
            report (0.4 s at 10M project rows, 2.5M findings). -#}
        delete from {{ this }} as built
        where built.{{ kind_column }} < '{{ fact_kind }}' or built.{{ kind_column }} > '{{ fact_kind }}';
        set local enable_seqscan = off;
        delete from {{ this }} as built
        where built.business_key = any(array(
            select facts.{{ fact_key }} from {{ fact }} as facts
            where {{ report_read_window('facts.built_at', since) }}
        ));
        delete from {{ this }} as built
        where built.submission_id = any(array({{ unpublished_submissions() }}));
        set local enable_seqscan = on
    {%- else -%}
        {{ delete_all_when_reading_everything() }}
    {%- endif -%}
{%- endmacro %}

{#- For a table of partial aggregates per submission (a fact's rows added up by submission_id and other
    columns): the submissions whose rows in the fact may have changed in the read window. A key built in the
    window may have left another submission that reports it (a correction or an agency's report took it
    over), so every submission with a raw row of such a key is read again, through the raw table's key index. -#}
{% macro submissions_of_keys_built(fact, kind, key, since) -%}
    select distinct reported.submission_id
    from {{ ref('stg_raw__' ~ kind) }} as reported
    where reported.{{ key }} = any(array(
        select facts.{{ key }} from {{ fact }} as facts
        where {{ report_read_window('facts.built_at', since) }}
    ))
{%- endmacro %}

{#- Pre-hook of a table of partial aggregates per submission: remove the partials of the submissions it adds
    up again (submissions_of_keys_built) and of submissions no longer published that have no row left in the
    fact (a withdrawal whose keys no other report carries; the fact drops their rows when it is built);
    everything when the build reads everything again. -#}
{% macro delete_stale_partials(fact, kind, key) -%}
    {%- set since = report_watermark() -%}
    {%- if since -%}
        delete from {{ this }} as built
        where built.submission_id = any(array({{ submissions_of_keys_built(fact, kind, key, since) }}));
        delete from {{ this }} as built
        using ({{ unpublished_submissions() }}) as unpublished
        where
            built.submission_id = unpublished.submission_id
            and not exists (select 1 from {{ fact }} as facts where facts.submission_id = built.submission_id)
    {%- else -%}
        {{ delete_all_when_reading_everything() }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of a table of partial aggregates, after begin_report_build: on an incremental build its
    = any(array(...)) conditions are read through indexes (macro index_scans_for_changes says why). Not for the
    reports: they also read small tables and views whole, which index scans made slower (the conflicts report
    0.4 -> 2.7 s at 1M rows); their deletes turn sequential scans off for themselves (delete_stale_report_rows). -#}
{% macro report_index_scans() -%}
    {{ 'set local enable_seqscan = off' if report_watermark() else 'select 1 as planner_as_configured' }}
{%- endmacro %}

{#- The pre-hooks' other branch, when a build reads everything again (no watermark with this fingerprint):
    an existing table is emptied in the build's transaction (its grants and row-level security stay); a first
    build has nothing to delete. -#}
{% macro delete_all_when_reading_everything() -%}
    {{ 'delete from ' ~ this if is_incremental() else 'select 1 as nothing_to_delete' }}
{%- endmacro %}
