{#- The order in which published reports of one business key win; the first is the canonical record.
    1. precedence_rank (seed `submitters`): an agency, which administers the kind, beats a district;
    2. for kinds booked to a district (district_owned): a district's report of a key that belongs to
       another district (is_other_district_report, see district_ownership) comes after the owner's, so a
       joint partner or a clashing district never overrides the owner's record (rpt_reporting_conflicts
       lists the clash);
    3. the later reporting period by its end date (a period is a date range: 2018 covers 2018-01-01 to
       2018-12-31, so 2018 beats 2018Q1 and 2019Q1 beats 2018);
    4. for the same end date the annual report beats the quarter (2018 beats 2018Q4);
    5. the later publication (published_at), then the higher submission_id (a deterministic tie-break). -#}
{% macro report_precedence(district_owned=false) -%}
    precedence_rank asc,{% if district_owned %} is_other_district_report asc,{% endif %} {{ submitter_report_order() }}
{%- endmacro %}

{#- Within one submitter only: its latest report of a key (the same order without the submitter rank). -#}
{% macro submitter_report_order() -%}
    period_end_date desc, is_annual desc, published_at desc, submission_id desc
{%- endmacro %}

{#- Which district a key belongs to: the district of its earliest published report by that district itself
    (a district reporting a row of its own district). A district's report of the key booked elsewhere, or
    its own later claim on a key another district reported first, is is_other_district_report. Agencies
    never are; a key no district reported as its own has no owner and nothing is demoted. -#}
{% macro district_ownership(key) -%}
    (
        array_agg(district_code) filter (
            where submitter_type = 'district' and submitter_code = district_code
        ) over (
            partition by {{ key }}
            order by published_at asc, submission_id asc
            rows between unbounded preceding and unbounded following
        )
    )[1] as owner_district_code
{%- endmacro %}
