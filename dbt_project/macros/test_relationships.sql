{#- dbt's relationships test, reading of the parent only the rows of the child's values. dbt's version hashes
    every parent row: with the child limited to a build's rows (__latest_build__), fct_project_funding's
    31,666 rows were checked against all 1.3M rows of fct_projects (0.4 s). Here the parent is read through
    its index on the field for the child's distinct values (= any(array(...))), and the answer is the same:
    the child's values that no parent row has. -#}
{% macro default__test_relationships(model, column_name, to, field) %}

with child as (
    select {{ column_name }} as from_field
    from {{ model }}
    where {{ column_name }} is not null
),

parent as (
    select {{ field }} as to_field
    from {{ to }}
    where {{ field }} = any(array(select distinct child.from_field from child))
)

select
    from_field

from child
left join parent
    on child.from_field = parent.to_field

where parent.to_field is null

{% endmacro %}
