{#- The rows of a model are unique over these columns (dbt_utils is not reachable offline, so written here). -#}
{% test unique_combination(model, columns) %}

select {{ columns | join(', ') }}, count(*) as n
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
