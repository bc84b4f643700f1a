with

assessments as (

    select * from {{ ref('fct_platform_assessments') }}

),

unpivoted as (

    select
        assessments.platform_code,
        assessments.assessment_year,
        assessments.district_code,
        assessments.submitter_code,
        assessments.submission_id,
        sources.funding_source,
        sources.amount_yuan
    from assessments
    cross join
        lateral (
            values
            ('municipal', assessments.municipal_fund_yuan),
            ('district', assessments.district_match_yuan),
            ('market', assessments.market_revenue_yuan),
            ('municipal_construction', assessments.construction_fund_yuan)
        ) as sources (funding_source, amount_yuan)
    where sources.amount_yuan is not null

),

final as (

    select
        ---------- ids
        (platform_code || '|' || assessment_year::text || '|' || funding_source)::text as platform_funding_id,
        platform_code::text as platform_code,
        assessment_year::integer as assessment_year,
        funding_source::text as funding_source,
        district_code::text as district_code,
        submitter_code::text as submitter_code,
        submission_id::bigint as submission_id,

        ---------- money
        amount_yuan::numeric(20, 2) as amount_yuan

    from unpivoted

)

select * from final
