{#- match / within_tolerance / off for a published figure against the warehouse's value.
    more_than: match when warehouse >= published and <= published * (1 + tolerance);
    exact, about: match when equal. Otherwise within_tolerance when |warehouse - published| <= published * tolerance. -#}
{% macro control_status(published, warehouse, comparison, tolerance) -%}
    case
        when {{ warehouse }} is null then 'off'
        when {{ comparison }} = 'more_than'
            and {{ warehouse }} >= {{ published }}
            and {{ warehouse }} <= {{ published }} * (1 + {{ tolerance }}) then 'match'
        when {{ comparison }} in ('exact', 'about') and {{ warehouse }} = {{ published }} then 'match'
        when abs({{ warehouse }} - {{ published }}) <= abs({{ published }}) * {{ tolerance }} then 'within_tolerance'
        else 'off'
    end
{%- endmacro %}
