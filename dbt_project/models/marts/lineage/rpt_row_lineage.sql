{#- Incremental: a build re-reads the raw rows of the submissions whose status changed since the last build
    (macro changed_submissions; a reload or a validation changes it too) and the rows of every other
    submission that report one of their business keys (is_in_mart may have moved between them), and replaces
    them by lineage_row_id. The pre-hook first removes the changed submissions' rows (a reload's earlier load
    leaves with them). The scan follows the new submissions, not the warehouse (the table was rebuilt from
    every raw row: 9-14 s of a build at 1M project rows). Incremental and full refresh agree
    (tests/dbt/test_warehouse.py, tests/dbt/test_history_incremental.py).

    The planner cannot know how many keys changed (= any(array(...)) counts as ten): with 10,000 it chose
    nested loops that ran each side once per row of the other (minutes); the model's joins are all equi-joins
    of sets of the change's size, so nested loops are off, and so is JIT (its cost estimate is of no use). -#}
-- depends_on: {{ ref('stg_audit__submissions') }}
{{
    config(
        materialized='incremental',
        unique_key='lineage_row_id',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['submission_id']}, {'columns': ['published_at']}],
        pre_hook=[
            "{{ lock_ledger_publications() }}",
            "set local jit = off",
            "set local enable_nestloop = off",
            "{{ index_scans_for_changes() }}",
            "{{ delete_lineage_of_changed_submissions() }}",
        ],
        post_hook="{{ ensure_indexes() }}"
    )
}}

{#- a big change (a first load, a backfill): every row, as a full build would read them -#}
{%- set few = reads_changes_only() %}

with

submissions as (

    select * from {{ ref('stg_audit__submissions') }}

),

projects as (

    select * from {{ ref('stg_raw__projects') }}
    {% if few %}
        where {{ lineage_scope('projects', 'project_code') }}
    {% endif %}

),

facilities as (

    select * from {{ ref('stg_raw__facilities') }}
    {% if few %}
        where {{ lineage_scope('facilities', 'facility_code') }}
    {% endif %}

),

platform_assessments as (

    select * from {{ ref('stg_raw__platform_assessments') }}
    {% if few %}
        where {{ lineage_scope('platform_assessments', 'platform_code') }}
    {% endif %}

),

ip_transactions as (

    select * from {{ ref('stg_raw__ip_transactions') }}
    {% if few %}
        where {{ lineage_scope('ip_transactions', 'transaction_code') }}
    {% endif %}

),

fct_projects as (

    select * from {{ ref('fct_projects') }}
    {% if few %}
        where {{ lineage_scope('projects', 'project_code') }}
    {% endif %}

),

dim_facility as (

    select * from {{ ref('dim_facility') }}
    {% if few %}
        where {{ lineage_scope('facilities', 'facility_code') }}
    {% endif %}

),

fct_platform_assessments as (

    select * from {{ ref('fct_platform_assessments') }}
    {% if few %}
        where {{ lineage_scope('platform_assessments', 'platform_code') }}
    {% endif %}

),

fct_ip_transactions as (

    select * from {{ ref('fct_ip_transactions') }}
    {% if few %}
        where {{ lineage_scope('ip_transactions', 'transaction_code') }}
    {% endif %}

),

raw_rows as (

    select
        'projects' as submission_kind,
        project_code as business_key,
        submission_id,
        load_id,
        source_sheet,
        source_row_number
    from projects
    union all
    select
        'facilities' as submission_kind,
        facility_code as business_key,
        submission_id,
        load_id,
        source_sheet,
        source_row_number
    from facilities
    union all
    select
        'platform_assessments' as submission_kind,
        platform_code || '|' || assessment_year::text as business_key,
        submission_id,
        load_id,
        source_sheet,
        source_row_number
    from platform_assessments
    union all
    select
        'ip_transactions' as submission_kind,
        transaction_code as business_key,
        submission_id,
        load_id,
        source_sheet,
        source_row_number
    from ip_transactions

),

in_marts as (

    select
        'projects' as submission_kind,
        'fct_projects' as mart_name,
        project_code as business_key,
        submission_id
    from fct_projects
    union all
    select
        'facilities' as submission_kind,
        'dim_facility' as mart_name,
        facility_code as business_key,
        submission_id
    from dim_facility
    where is_current
    union all
    select
        'platform_assessments' as submission_kind,
        'fct_platform_assessments' as mart_name,
        platform_code || '|' || assessment_year::text as business_key,
        submission_id
    from fct_platform_assessments
    union all
    select
        'ip_transactions' as submission_kind,
        'fct_ip_transactions' as mart_name,
        transaction_code as business_key,
        submission_id
    from fct_ip_transactions

),

-- only the rows of the load in force of each submission (a reloaded submission keeps its last load)
joined as (

    select
        raw_rows.*,
        submissions.submitter_code,
        submissions.reporting_period,
        submissions.channel,
        submissions.original_name,
        submissions.sha256,
        submissions.submission_status,
        submissions.received_at,
        submissions.published_at,
        in_marts.mart_name,
        in_marts.submission_id is not null as is_in_mart
    from raw_rows
    inner join submissions
        on
            raw_rows.submission_id = submissions.submission_id
            and raw_rows.load_id = submissions.load_id
    left join in_marts
        on
            raw_rows.submission_kind = in_marts.submission_kind
            and raw_rows.business_key = in_marts.business_key
            and raw_rows.submission_id = in_marts.submission_id

),

final as (

    select
        ---------- ids
        (
            submission_kind || '|' || submission_id::text || '|' || source_sheet || '|'
            || source_row_number::text
        )::text as lineage_row_id,
        submission_kind::text as submission_kind,
        business_key::text as business_key,
        submission_id::bigint as submission_id,
        load_id::bigint as load_id,
        submitter_code::text as submitter_code,

        ---------- attributes
        reporting_period::text as reporting_period,
        nullif(source_sheet, '')::text as source_sheet,
        source_row_number::integer as source_row_number,
        channel::text as channel,
        original_name::text as original_name,
        sha256::text as sha256,
        -- the archive is content-addressed (stic.ledger.archive_path_for), under the landing folder
        ('archive/sha256/' || left(sha256, 2) || '/' || sha256)::text as archive_path,
        submission_status::text as submission_status,
        mart_name::text as mart_name,
        is_in_mart::boolean as is_in_mart,

        ---------- timestamps
        received_at::timestamptz as received_at,
        published_at::timestamptz as published_at

    from joined

)

select * from final
