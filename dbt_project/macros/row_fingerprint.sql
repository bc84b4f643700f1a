{#- A hash of a report's business values, to tell whether two submitters report a key differently. -#}
{% macro row_fingerprint(columns) -%}
    md5(row({{ columns | join(', ') }})::text)
{%- endmacro %}
