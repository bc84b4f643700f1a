{#- Rows the database keeps unique over these columns: a unique index (or primary key) on exactly them, in
    this order, which PostgreSQL checks on every write. A unique_combination test over them reads the whole
    table and could never fail while the index exists (1-1.5 s a build each at 1M rows); what can go wrong is
    the index missing (a table made by hand, or before the index joined the model's config: the post-hook
    ensure_indexes adds it on the next build). Reads the catalogue, not the rows; fails with one row when no
    such index exists. -#}
{% test enforced_unique(model, columns) %}

    with

    relation as (

        select to_regclass(
            quote_ident('{{ model.schema }}') || '.' || quote_ident('{{ model.identifier }}')
        ) as relation_oid

    ),

    unique_indexes as (

        select array(
            select attributes.attname::text
            from unnest(indexes.indkey) with ordinality as index_keys (attnum, position)
            inner join pg_catalog.pg_attribute as attributes
                on
                    indexes.indrelid = attributes.attrelid
                    and index_keys.attnum = attributes.attnum
            order by index_keys.position
        ) as column_names
        from pg_catalog.pg_index as indexes
        inner join relation
            on indexes.indrelid = relation.relation_oid
        where indexes.indisunique and indexes.indpred is null

    )

    select '{{ model.schema }}.{{ model.identifier }}' as relation_name
    where not exists (
        select unique_indexes.column_names from unique_indexes
        where unique_indexes.column_names = array[{% for c in columns %}'{{ c }}'{{ ", " if not loop.last }}{% endfor %}]::text[]
    )

{% endtest %}
