{#- The order in which published reports of one business key win; the first is the canonical record.
    1. precedence_rank (seed `submitters`): an agency, which administers the kind, beats a district;
    2. the later reporting period ('2018Q4' > '2018' > '2017Q4': text order of the period);
    3. the later publication (published_at), then the higher submission_id (a deterministic tie-break). -#}
{% macro report_precedence() -%}
    precedence_rank asc, reporting_period desc, published_at desc, submission_id desc
{%- endmacro %}

{#- Within one submitter only: its latest report of a key (same order without the submitter rank). -#}
{% macro submitter_report_order() -%}
    reporting_period desc, published_at desc, submission_id desc
{%- endmacro %}
