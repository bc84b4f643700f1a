with

assessments as (

    select * from {{ ref('fct_platform_assessments') }}

),

shares as (

    select
        platform_code,
        assessment_year,
        district_code,
        municipal_fund_yuan,
        district_match_yuan,
        total_funding_yuan,
        municipal_fund_yuan / nullif(total_funding_yuan, 0) as municipal_share,
        assessment_year - min(assessment_year) over (partition by platform_code) + 1 as platform_year_number
    from assessments

),

with_previous as (

    select
        *,
        lag(municipal_share) over (partition by platform_code order by assessment_year) as previous_municipal_share,
        lag(assessment_year) over (partition by platform_code order by assessment_year) as previous_year
    from shares

),

district_below_municipal as (

    select
        platform_code,
        assessment_year,
        district_code,
        'district_match_below_municipal' as finding_code,
        'finding' as severity,
        municipal_fund_yuan,
        district_match_yuan,
        municipal_share,
        previous_municipal_share,
        'district match ' || coalesce(district_match_yuan::text, 'missing') || ' yuan is below the municipal fund '
        || municipal_fund_yuan::text || ' yuan (2018 guideline, Item Ten)' as finding_detail
    from with_previous
    where municipal_fund_yuan > coalesce(district_match_yuan, 0)

),

municipal_share_rising as (

    select
        platform_code,
        assessment_year,
        district_code,
        'municipal_share_rising' as finding_code,
        'warning' as severity,
        municipal_fund_yuan,
        district_match_yuan,
        municipal_share,
        previous_municipal_share,
        'municipal share of funding rose from ' || round(previous_municipal_share, 4)::text || ' to '
        || round(municipal_share, 4)::text || ' in the platform''s year ' || platform_year_number::text
            as finding_detail
    from with_previous
    where
        platform_year_number > 3
        and previous_year = assessment_year - 1
        and municipal_share > previous_municipal_share

),

unioned as (

    select * from district_below_municipal
    union all
    select * from municipal_share_rising

),

final as (

    select
        ---------- ids
        (platform_code || '|' || assessment_year::text || '|' || finding_code)::text as platform_finding_id,
        platform_code::text as platform_code,
        assessment_year::integer as assessment_year,
        district_code::text as district_code,

        ---------- attributes
        finding_code::text as finding_code,
        severity::text as severity,
        finding_detail::text as finding_detail,
        municipal_share::numeric(9, 6) as municipal_share,
        previous_municipal_share::numeric(9, 6) as previous_municipal_share,

        ---------- money
        municipal_fund_yuan::numeric(20, 2) as municipal_fund_yuan,
        district_match_yuan::numeric(20, 2) as district_match_yuan

    from unioned

)

select * from final
