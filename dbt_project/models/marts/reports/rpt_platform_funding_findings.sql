{#- The 2018 guideline's funding rules (Items Ten and Twelve), one row per platform, year and finding.
    Operating money = municipal_fund_yuan (city S&T plan special fund) + district_match_yuan; construction
    money (construction_fund_yuan) is outside the district match. Pass mark: var platform_pass_mark. -#}
with

assessments as (

    select * from {{ ref('fct_platform_assessments') }}

),

rules as (

    select * from {{ ref('finding_rules') }}

),

with_neighbours as (

    select
        assessments.*,
        previous_year.fiscal_operating_yuan as previous_fiscal_operating_yuan,
        previous_year.fiscal_share as previous_fiscal_share,
        next_year.fiscal_operating_yuan as next_fiscal_operating_yuan,
        next_year.fiscal_share as next_fiscal_share,
        next_year.funding_change_reason as next_funding_change_reason,
        assessments.targets_missed_count > 0
        or assessments.assessment_score < {{ var('platform_pass_mark', 60) }} as is_assessment_failed,
        assessments.targets_missed_count = 0
        and assessments.assessment_score >= {{ var('platform_pass_mark', 60) }} as is_assessment_passed
    from assessments
    left join assessments as previous_year
        on
            assessments.platform_code = previous_year.platform_code
            and assessments.assessment_year = previous_year.assessment_year + 1
    left join assessments as next_year
        on
            assessments.platform_code = next_year.platform_code
            and assessments.assessment_year = next_year.assessment_year - 1

),

district_match as (

    select
        *,
        'item_ten_funds' as rule_code,
        'district_operating_match_below_city' as finding_code,
        'finding' as severity,
        null::integer as compared_year,
        null::numeric as compared_fiscal_operating_yuan,
        null::numeric as compared_fiscal_share,
        'district operating money ' || coalesce(district_match_yuan::text, 'none') || ' yuan is below the city''s '
        || municipal_fund_yuan::text || ' yuan in ' || assessment_year::text
        || ' (construction money is outside this rule)' as finding_detail
    from with_neighbours
    where municipal_fund_yuan > coalesce(district_match_yuan, 0)

),

after_contract as (

    select * from with_neighbours
    where
        platform_year_number > contract_years
        and previous_fiscal_operating_yuan is not null

),

fiscal_rising as (

    select
        *,
        'item_ten_diminishing' as rule_code,
        'fiscal_operating_rising' as finding_code,
        'warning' as severity,
        assessment_year - 1 as compared_year,
        previous_fiscal_operating_yuan as compared_fiscal_operating_yuan,
        previous_fiscal_share as compared_fiscal_share,
        'fiscal operating money (city + district) rose from ' || previous_fiscal_operating_yuan::text || ' yuan in '
        || (assessment_year - 1)::text || ' to ' || fiscal_operating_yuan::text || ' yuan in '
        || assessment_year::text || ', the platform''s year ' || platform_year_number::text
        || ', after its ' || contract_years::text || '-year initial contract' as finding_detail
    from after_contract
    where fiscal_operating_yuan > previous_fiscal_operating_yuan

),

share_rising as (

    select
        *,
        'item_ten_diminishing' as rule_code,
        'fiscal_share_rising' as finding_code,
        'warning' as severity,
        assessment_year - 1 as compared_year,
        previous_fiscal_operating_yuan as compared_fiscal_operating_yuan,
        previous_fiscal_share as compared_fiscal_share,
        'fiscal share of operating income rose from ' || round(previous_fiscal_share, 4)::text || ' in '
        || (assessment_year - 1)::text || ' to ' || round(fiscal_share, 4)::text || ' in ' || assessment_year::text
        || ', the platform''s year ' || platform_year_number::text || ', after its ' || contract_years::text
        || '-year initial contract' as finding_detail
    from after_contract
    where fiscal_share > previous_fiscal_share

),

not_linked as (

    select
        *,
        'item_twelve' as rule_code,
        'assessment_missed_funding_not_reduced' as finding_code,
        'finding' as severity,
        assessment_year + 1 as compared_year,
        next_fiscal_operating_yuan as compared_fiscal_operating_yuan,
        next_fiscal_share as compared_fiscal_share,
        'the ' || assessment_year::text || ' assessment missed ' || targets_missed_count::text
        || ' of its contracted targets with score ' || coalesce(assessment_score::text, 'none') || ' (pass mark '
        || {{ var('platform_pass_mark', 60) }}::text || '), yet fiscal operating money went from '
        || fiscal_operating_yuan::text || ' yuan to ' || next_fiscal_operating_yuan::text || ' yuan in '
        || (assessment_year + 1)::text as finding_detail
    from with_neighbours
    where is_assessment_failed and next_fiscal_operating_yuan >= fiscal_operating_yuan

),

cut_without_reason as (

    select
        *,
        'item_twelve' as rule_code,
        'well_assessed_funding_cut' as finding_code,
        'info' as severity,
        assessment_year + 1 as compared_year,
        next_fiscal_operating_yuan as compared_fiscal_operating_yuan,
        next_fiscal_share as compared_fiscal_share,
        'the ' || assessment_year::text || ' assessment met every contracted target with score '
        || assessment_score::text || ', yet fiscal operating money was cut from ' || fiscal_operating_yuan::text
        || ' yuan to ' || next_fiscal_operating_yuan::text || ' yuan in ' || (assessment_year + 1)::text
        || ' with no reason recorded' as finding_detail
    from with_neighbours
    where
        is_assessment_passed
        and next_fiscal_operating_yuan < fiscal_operating_yuan
        and next_funding_change_reason is null

),

start_unknown as (

    select
        *,
        'item_ten_diminishing' as rule_code,
        'platform_start_unknown' as finding_code,
        'info' as severity,
        null::integer as compared_year,
        null::numeric as compared_fiscal_operating_yuan,
        null::numeric as compared_fiscal_share,
        'no construction (contract) start date is known for this platform: its years, and so the diminishing '
        || 'rule, cannot be judged' as finding_detail
    from with_neighbours
    where platform_start_date is null

),

unioned as (

    select * from district_match
    union all
    select * from fiscal_rising
    union all
    select * from share_rising
    union all
    select * from not_linked
    union all
    select * from cut_without_reason
    union all
    select * from start_unknown

),

described as (

    select
        unioned.*,
        rules.guideline_text
    from unioned
    inner join rules
        on unioned.finding_code = rules.finding_code

),

final as (

    select
        ---------- ids
        (platform_code || '|' || assessment_year::text || '|' || finding_code)::text as platform_finding_id,
        platform_code::text as platform_code,
        assessment_year::integer as assessment_year,
        compared_year::integer as compared_year,
        district_code::text as district_code,
        submission_id::bigint as submission_id,

        ---------- the rule
        rule_code::text as rule_code,
        finding_code::text as finding_code,
        severity::text as severity,
        finding_detail::text as finding_detail,
        guideline_text::text as guideline_text,

        ---------- the platform year
        platform_start_date::date as platform_start_date,
        platform_year_number::integer as platform_year_number,
        contract_years::integer as contract_years,
        assessment_score::numeric(20, 4) as assessment_score,
        targets_missed_count::integer as targets_missed_count,

        ---------- money and shares
        municipal_fund_yuan::numeric(20, 2) as municipal_fund_yuan,
        district_match_yuan::numeric(20, 2) as district_match_yuan,
        construction_fund_yuan::numeric(20, 2) as construction_fund_yuan,
        fiscal_operating_yuan::numeric(20, 2) as fiscal_operating_yuan,
        compared_fiscal_operating_yuan::numeric(20, 2) as compared_fiscal_operating_yuan,
        fiscal_share::numeric(9, 6) as fiscal_share,
        compared_fiscal_share::numeric(9, 6) as compared_fiscal_share

    from described

)

select * from final
