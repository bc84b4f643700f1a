{#- The last day of a reporting period: '2018' -> 2018-12-31, '2018Q2' -> 2018-06-30. -#}
{% macro period_end(period) -%}
    (
        make_date(substr({{ period }}, 1, 4)::integer, coalesce(nullif(substr({{ period }}, 6, 1), '')::integer, 4) * 3, 1)
        + interval '1 month' - interval '1 day'
    )::date
{%- endmacro %}
