{#- Write-audit-publish in one place: the submissions whose rows may reach the marts. -#}
with

submissions as (

    select * from {{ ref('stg_audit__submissions') }}

),

submitters as (

    select * from {{ ref('submitters') }}

),

final as (

    select
        submissions.submission_id,
        submissions.submitter_code,
        submissions.reporting_period,
        submissions.reporting_year,
        submissions.period_start_date,
        submissions.period_end_date,
        submissions.is_annual,
        submissions.channel,
        submissions.published_at,
        coalesce(submitters.submitter_type, 'unknown') as submitter_type,
        coalesce(submitters.precedence_rank, 9) as precedence_rank
    from submissions
    left join submitters
        on submissions.submitter_code = submitters.submitter_code
    where submissions.is_published

)

select * from final
