{#- match / within_tolerance / off for a published figure against the warehouse's value.
    exact: match when equal, else off (the tolerance is not used: a figure published as exact has none).
    more_than ("more than X", "exceeding X"): match when warehouse > published and
      warehouse <= published * (1 + tolerance), the tolerance being one unit of the last digit stated;
      else off (at or below the published value, or implausibly far above it).
    about ("some X", "X" rounded): match when equal; within_tolerance when |warehouse - published| <=
      published * tolerance (half a unit of the last digit stated); else off. -#}
{% macro control_status(published, warehouse, comparison, tolerance) -%}
    case
        when {{ warehouse }} is null then 'off'
        when {{ comparison }} = 'exact' and {{ warehouse }} = {{ published }} then 'match'
        when {{ comparison }} = 'more_than'
            and {{ warehouse }} > {{ published }}
            and {{ warehouse }} <= {{ published }} * (1 + {{ tolerance }}) then 'match'
        when {{ comparison }} = 'about' and {{ warehouse }} = {{ published }} then 'match'
        when {{ comparison }} = 'about'
            and abs({{ warehouse }} - {{ published }}) <= abs({{ published }}) * {{ tolerance }} then 'within_tolerance'
        else 'off'
    end
{%- endmacro %}
