{#- A column the database keeps unique and not null: the model's contract declares it the primary key, and
    PostgreSQL checks that on every write, so a unique and a not_null test reading the whole table could
    never fail (and cost seconds a build at 1M rows). What can go wrong is the constraint missing (a table
    made by an earlier version of the project, or by hand): this test reads the catalogue, not the rows, and
    fails with one row when the column is not the table's primary key on its own. -#}
{% test enforced_primary_key(model, column_name) %}

    with

    relation as (

        select to_regclass(
            quote_ident('{{ model.schema }}') || '.' || quote_ident('{{ model.identifier }}')
        ) as relation_oid

    ),

    primary_key as (

        select attributes.attname as column_name
        from pg_catalog.pg_index as indexes
        inner join relation
            on indexes.indrelid = relation.relation_oid
        inner join pg_catalog.pg_attribute as attributes
            on
                indexes.indrelid = attributes.attrelid
                and indexes.indkey[0] = attributes.attnum
        where indexes.indisprimary and indexes.indnatts = 1

    )

    select '{{ model.schema }}.{{ model.identifier }}' as relation_name
    where not exists (
        select primary_key.column_name from primary_key
        where primary_key.column_name = '{{ column_name }}'
    )

{% endtest %}
