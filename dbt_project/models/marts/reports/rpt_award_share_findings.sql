{#- The inventors' award floor (Rules for the Promotion of Transfer of S&T Achievements, 2017; the 2019
    briefing): on a transfer or licence by a university or research institute, at least 70 percent of net
    revenue goes to the inventors and their team. Other sellers and transaction types are outside the rule;
    a share above 1 or below 0 never reaches the marts (row rule share_range). -#}
with

transactions as (

    select * from {{ ref('fct_ip_transactions') }}

),

rules as (

    select * from {{ ref('finding_rules') }}
    where finding_code = 'award_share_below_0_7'

),

below_floor as (

    select * from transactions
    where
        transaction_type in ('transfer', 'license')
        and seller_type in ('university', 'research_institute')
        and inventor_award_share < 0.7

),

final as (

    select
        ---------- ids
        below_floor.transaction_code::text as transaction_code,
        below_floor.submitter_code::text as submitter_code,
        below_floor.submission_id::bigint as submission_id,
        below_floor.seller_district_code::text as seller_district_code,

        ---------- attributes
        rules.rule_code::text as rule_code,
        rules.finding_code::text as finding_code,
        rules.severity::text as severity,
        rules.guideline_text::text as guideline_text,
        below_floor.seller_name::text as seller_name,
        below_floor.seller_type::text as seller_type,
        below_floor.transaction_type::text as transaction_type,
        below_floor.inventor_award_share::numeric(9, 6) as inventor_award_share,

        ---------- dates
        below_floor.deal_date::date as deal_date,

        ---------- money
        below_floor.net_revenue_yuan::numeric(20, 2) as net_revenue_yuan,
        (below_floor.net_revenue_yuan * below_floor.inventor_award_share)::numeric(20, 2) as award_yuan,
        (below_floor.net_revenue_yuan * 0.7)::numeric(20, 2) as floor_award_yuan

    from below_floor
    cross join rules

)

select * from final
