{#- Every version of every project's canonical record, as reported: all attributes are as of the version,
    none overlaid with today's values. In force at instant T: valid_from <= T and (valid_to is null or
    valid_to > T) (docs/history.md).

    A slowly changing dimension (type 2) kept by this model itself, as dbt's check-strategy snapshot
    would keep it, but reading only the project codes that can have changed since the last build (macro
    scd2_changed_keys): a build's cost follows the new submissions, not the warehouse (dbt's snapshot
    compared every current version with every fact row). A build closes the current version of each changed
    code (valid_to = the build's time) and opens its new one; a code no longer in fct_projects is only
    closed. full_refresh=false: like a snapshot, history is never rebuilt (it could not be: it is what was
    reported then). A warehouse built before this model kept its own history (snapshot projects_snapshot)
    goes on from the table it has.

    jit off: the planner cannot know that the changed keys are few; it costs the statement as if every row
    changed, and JIT-compiling that plan took longer than running it (1.5 s of 1.7 s at 1M rows). -#}
-- depends_on: {{ ref('stg_audit__submissions') }}
{{
    config(
        materialized='incremental',
        unique_key='project_version_id',
        incremental_strategy='delete+insert',
        full_refresh=false,
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['project_code']}, {'columns': ['submission_id']}, {'columns': ['published_at']},
                 {'columns': ['built_at']},
                 {'columns': ['project_code', 'version_number'], 'unique': true},
                 {'columns': ['project_code', 'valid_from'], 'unique': true}],
        pre_hook=["{{ lock_builds_of() }}", "{{ stamp_built_at() }}", "set local jit = off",
                  "{{ index_scans_for_changes('projects') }}"],
        post_hook="{{ ensure_indexes() }}"
    )
}}

{%- set check_cols = [
    'submission_id', 'project_status', 'start_date', 'end_date', 'funding_central_yuan',
    'funding_municipal_yuan', 'funding_district_yuan', 'funding_self_raised_yuan', 'project_title',
    'project_level', 'programme_code', 'field_code', 'district_code', 'joint_with_district_codes',
    'lead_institution_name', 'lead_institution_type',
] %}

{#- a big change (a first load, a backfill): every code is compared, as dbt's snapshot did -#}
{%- set few = reads_changes_only('projects') %}

with

{% if few %}

    changed_keys as materialized (

        {{ scd2_changed_keys('fct_projects', 'project_code') }}

    ),

    -- = any(array(...)): read through the indexes on project_code, whatever the planner guesses of the count
    facts as (

        select * from {{ ref('fct_projects') }}
        where project_code = any(array(select changed_keys.project_code from changed_keys))

    ),

    current_versions as (

        select * from {{ this }}
        where is_current and project_code = any(array(select changed_keys.project_code from changed_keys))

    ),

    -- a code seen again after it was closed goes on from its last version
    last_versions as (

        select
            history.project_code,
            max(history.version_number) as version_number
        from {{ this }} as history
        where history.project_code = any(array(select changed_keys.project_code from changed_keys))
        group by history.project_code

    ),

{% elif is_incremental() %}

    facts as (

        select * from {{ ref('fct_projects') }}

    ),

    current_versions as (

        select * from {{ this }}
        where is_current

    ),

    last_versions as (

        select
            history.project_code,
            max(history.version_number) as version_number
        from {{ this }} as history
        group by history.project_code

    ),

{% else %}

    facts as (

        select * from {{ ref('fct_projects') }}

    ),

    -- the first build: no versions yet (the same columns as the history's)
    current_versions as (

        select
            facts.*,
            null::text as project_version_id,
            0 as version_number,
            null::timestamp as valid_from
        from {{ ref('fct_projects') }} as facts
        where false

    ),

    last_versions as (

        select
            project_code,
            0 as version_number
        from {{ ref('fct_projects') }}
        where false

    ),

{% endif %}

changes as (

    select
        coalesce(facts.project_code, current_versions.project_code) as project_code,
        facts.project_code is not null as is_reported,
        current_versions.project_code is not null as has_current_version,
        coalesce(current_versions.version_number, last_versions.version_number, 0) as last_version_number
    from facts
    full outer join current_versions
        on facts.project_code = current_versions.project_code
    left join last_versions
        on facts.project_code = last_versions.project_code
    where
        facts.project_code is null
        or current_versions.project_code is null
        {% for col in check_cols %}
            or facts.{{ col }} is distinct from current_versions.{{ col }}
        {% endfor %}

),

build_time as (

    -- the build's stamp (stamp_built_at), as a timestamp without time zone like dbt's snapshot_get_time():
    -- taken under the history's own lock (lock_builds_of), so a later build's versions always open and
    -- close after an earlier build's (the transaction's start, what a snapshot uses, can come before the
    -- start of a build that took the lock first); int_projects_lead_institutions relies on that order
    select ({{ built_at() }})::timestamp as built_at

),

closed as (

    select
        current_versions.project_version_id,
        current_versions.project_code,
        current_versions.version_number,
        current_versions.district_code,
        current_versions.joint_with_district_codes,
        current_versions.field_code,
        current_versions.submitter_code,
        current_versions.submission_id,
        current_versions.project_title,
        current_versions.project_level,
        current_versions.programme_code,
        current_versions.lead_institution_name,
        current_versions.lead_institution_type,
        current_versions.project_status,
        current_versions.reporting_period,
        current_versions.start_date,
        current_versions.end_date,
        current_versions.funding_central_yuan,
        current_versions.funding_municipal_yuan,
        current_versions.funding_district_yuan,
        current_versions.funding_self_raised_yuan,
        current_versions.funding_total_yuan,
        current_versions.published_at,
        current_versions.valid_from,
        build_time.built_at as valid_to,
        false as is_current
    from changes
    inner join current_versions
        on changes.project_code = current_versions.project_code
    cross join build_time

),

opened as (

    select
        -- dbt's scd id for a check snapshot: a hash of the key and the time the version was first seen
        md5(facts.project_code || '|' || build_time.built_at::varchar) as project_version_id,
        facts.project_code,
        changes.last_version_number + 1 as version_number,
        facts.district_code,
        facts.joint_with_district_codes,
        facts.field_code,
        facts.submitter_code,
        facts.submission_id,
        facts.project_title,
        facts.project_level,
        facts.programme_code,
        facts.lead_institution_name,
        facts.lead_institution_type,
        facts.project_status,
        facts.reporting_period,
        facts.start_date,
        facts.end_date,
        facts.funding_central_yuan,
        facts.funding_municipal_yuan,
        facts.funding_district_yuan,
        facts.funding_self_raised_yuan,
        facts.funding_total_yuan,
        facts.published_at,
        build_time.built_at as valid_from,
        null::timestamp as valid_to,
        true as is_current
    from changes
    inner join facts
        on changes.project_code = facts.project_code
    cross join build_time

),

versions as (

    select * from closed
    union all
    select * from opened

),

final as (

    select
        ---------- ids
        project_version_id::text as project_version_id,
        project_code::text as project_code,
        version_number::integer as version_number,
        district_code::text as district_code,
        joint_with_district_codes::text as joint_with_district_codes,
        field_code::text as field_code,
        submitter_code::text as submitter_code,
        submission_id::bigint as submission_id,

        ---------- attributes
        project_title::text as project_title,
        project_level::text as project_level,
        programme_code::text as programme_code,
        lead_institution_name::text as lead_institution_name,
        lead_institution_type::text as lead_institution_type,
        project_status::text as project_status,
        reporting_period::text as reporting_period,

        ---------- dates
        start_date::date as start_date,
        end_date::date as end_date,

        ---------- money
        funding_central_yuan::numeric(20, 2) as funding_central_yuan,
        funding_municipal_yuan::numeric(20, 2) as funding_municipal_yuan,
        funding_district_yuan::numeric(20, 2) as funding_district_yuan,
        funding_self_raised_yuan::numeric(20, 2) as funding_self_raised_yuan,
        funding_total_yuan::numeric(20, 2) as funding_total_yuan,

        ---------- timestamps
        published_at::timestamptz as published_at,

        ---------- validity
        valid_from::timestamp as valid_from,
        valid_to::timestamp as valid_to,
        is_current::boolean as is_current,
        {{ built_at() }} as built_at

    from versions

)

select * from final
