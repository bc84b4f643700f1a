{#- Incremental like fct_projects: a run unpivots only the project codes whose record may have changed
    since the last build; delete+insert replaces every source row of those codes (JIT off, as in fct_projects). -#}
-- depends_on: {{ ref('stg_raw__projects') }}, {{ ref('stg_audit__submissions') }}
{{
    config(
        materialized='incremental',
        unique_key='project_code',
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['project_code']}, {'columns': ['submission_id']}, {'columns': ['published_at']},
                 {'columns': ['built_at']}],
        pre_hook=["{{ lock_ledger_publications() }}", "{{ stamp_built_at() }}", "set local jit = off",
                  "{{ index_scans_for_changes('projects') }}"],
        post_hook=["{{ delete_unpublished_rows() }}", "{{ ensure_indexes() }}", "{{ analyze_if_grown() }}"]
    )
}}

with

projects as (

    select * from {{ ref('fct_projects') }}
    {% if reads_changes_only('projects') %}
        where project_code = any(array({{ incremental_changed_keys('projects', 'project_code') }}))
    {% endif %}

),

unpivoted as (

    select
        projects.project_code,
        projects.district_code,
        projects.joint_with_district_codes,
        projects.field_code,
        projects.project_level,
        projects.submitter_code,
        projects.submission_id,
        projects.start_date,
        projects.published_at,
        sources.funding_source,
        sources.amount_yuan
    from projects
    cross join
        lateral (
            values
            ('central', projects.funding_central_yuan),
            ('municipal', projects.funding_municipal_yuan),
            ('district', projects.funding_district_yuan),
            ('self_raised', projects.funding_self_raised_yuan)
        ) as sources (funding_source, amount_yuan)
    where sources.amount_yuan is not null

),

final as (

    select
        ---------- ids
        (project_code || '|' || funding_source)::text as project_funding_id,
        project_code::text as project_code,
        funding_source::text as funding_source,
        district_code::text as district_code,
        joint_with_district_codes::text as joint_with_district_codes,
        field_code::text as field_code,
        submitter_code::text as submitter_code,
        submission_id::bigint as submission_id,

        ---------- attributes
        project_level::text as project_level,

        ---------- dates
        start_date::date as start_date,

        ---------- money
        amount_yuan::numeric(20, 2) as amount_yuan,

        ---------- timestamps
        published_at::timestamptz as published_at,
        {{ built_at() }} as built_at

    from unpivoted

)

select * from final
