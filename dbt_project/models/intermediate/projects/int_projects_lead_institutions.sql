{#- The projects' lead institutions as written (name and type), each with the number of projects in
    fct_projects that name it: what dim_institution counts for its lead_institution role.

    Kept by deltas from the project history (fct_projects_history), whose current versions are the fact's
    rows: a build adds one project for each version opened since its watermark that is still current, and
    takes one away for each version closed since that was current at the watermark (a version opened and
    closed in between counts neither way). dim_institution counted every fact row on every build (5.5 s at
    10M project rows); this reads the history rows built since (its built_at index).

    The watermark is the history's newest built_at. The history's builds follow each other under a lock of
    its own (lock_builds_of) and open and close versions at the time they took it, so this build takes that
    lock before its watermark: no history build is in flight while it reads, and a version opened after the
    watermark has a later valid_from than any build it has read. A change to this SQL reads the current
    versions whole again (report_fingerprint). -#}
{{
    config(
        materialized='incremental',
        unique_key='lead_institution_key',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['lead_institution_key'], 'unique': true}],
        pre_hook=[
            "{{ lock_builds_of(ref('fct_projects_history')) }}",
            "{{ begin_report_build('select max(built_at) from ' ~ ref('fct_projects_history')) }}",
        ],
        post_hook=[
            "delete from {{ this }} where projects_reported = 0",
            "{{ record_report_watermark() }}",
            "{{ ensure_indexes() }}",
        ]
    )
}}
{%- set since = report_watermark() %}

with

{% if since %}

    -- the versions the history wrote since the watermark: those it opened, and those it closed (a closed
    -- version is written again, with its valid_to, by the build that closed it)
    versions as (

        select
            lead_institution_name,
            lead_institution_type,
            valid_from,
            valid_to
        from {{ ref('fct_projects_history') }}
        where {{ report_read_window('built_at', since) }}

    ),

    changes as (

        select
            lead_institution_name,
            lead_institution_type,
            sum(case when valid_to is null then 1 else -1 end) as projects_changed
        from versions
        where
            -- opened since and still current: one project more
            valid_to is null
            -- current at the watermark (opened by a build read before) and closed since: one project fewer
            or valid_from <= '{{ since }}'::timestamptz::timestamp
        group by lead_institution_name, lead_institution_type

    ),

    counts as (

        select
            md5(row(changes.lead_institution_name, changes.lead_institution_type)::text) as lead_institution_key,
            changes.lead_institution_name,
            changes.lead_institution_type,
            coalesce(built.projects_reported, 0) + changes.projects_changed as projects_reported
        from changes
        left join {{ this }} as built
            on md5(row(changes.lead_institution_name, changes.lead_institution_type)::text) = built.lead_institution_key

    ),

{% else %}

    counts as (

        select
            md5(row(lead_institution_name, lead_institution_type)::text) as lead_institution_key,
            lead_institution_name,
            lead_institution_type,
            count(*) as projects_reported
        from {{ ref('fct_projects_history') }}
        where is_current
        group by lead_institution_name, lead_institution_type

    ),

{% endif %}

final as (

    select
        ---------- ids
        lead_institution_key::text as lead_institution_key,

        ---------- attributes
        lead_institution_name::text as lead_institution_name,
        lead_institution_type::text as lead_institution_type,

        ---------- counts
        projects_reported::bigint as projects_reported
    from counts

)

select * from final
