{#- When this dbt invocation started (UTC), as a timestamp every engine reads. Incremental
    models stamp the rows they (re)write with it, so a model downstream can tell the rows
    changed since its own last build: a later invocation carries a later stamp, as long as
    the machine's clock does not go back between two builds. -#}
{% macro crm_build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- One text that changes whenever a value in any of `row_sets` changes, a row is added or a
    row goes: for each [relation, [key, column, ...]] the rows listed in key order. An
    incremental model keeps it on its rows to tell when an input it reads whole (the products,
    the currency rates) has changed, so that every row must be computed again. Spark rebuilds
    those models on every run and never compares it (and its listagg cannot order). -#}
{% macro crm_fingerprint(row_sets) -%}
    {%- if not crm_engine_keeps_tables_incrementally() -%}
    cast(null as {{ dbt.type_string() }})
    {%- else -%}
    {%- set texts = [] -%}
    {%- for relation, columns in row_sets -%}
        {%- set values = [] -%}
        {%- for column in columns -%}
            {%- if not loop.first %}{% do values.append("'/'") %}{% endif -%}
            {%- do values.append("coalesce(" ~ dbt.cast(column, dbt.type_string()) ~ ", '(null)')") -%}
        {%- endfor -%}
        {%- if not loop.first %}{% do texts.append("'#'") %}{% endif -%}
        {%- do texts.append(
            '(select ' ~ dbt.listagg(dbt.concat(values), "'|'", 'order by ' ~ columns[0])
            ~ ' from ' ~ relation ~ ')'
        ) -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(texts)) }}
    {%- endif -%}
{%- endmacro %}


{#- Whether this engine keeps the large intermediate tables incrementally. Spark (parquet
    tables, no delete) rebuilds them on every run, as it does its base tables (the same rule
    is written in dbt_project.yml for those, where project macros cannot be called). -#}
{% macro crm_engine_keeps_tables_incrementally() -%}
    {{ return(target.type != 'spark') }}
{%- endmacro %}


{#- The buyers whose facts in `aggregate` (an incremental per-contact table stamped with
    `_aggregated_at` and `_aggregated_as_of`) may differ from a rebuild's:
    - the buyers of every order priced again since the table was last built, and the buyers
      of the previous versions of orders staging rechecked since (an order that moved to
      another contact changes both);
    - the buyers with an order whose side of an edge changed when the evaluation date moved:
      an order counts up to the date, and within windows of `window_days` back from it, so
      when the date moves from `old` to `new` the orders in (old - d, new - d] change for
      every edge d in [0] + window_days;
    - everyone, when the evaluation date went back (the table keeps the latest date it was
      built for, not the last one), or when `inputs_fingerprint` (the name of a relation
      with one row, its `fingerprint`, of an input the table reads whole) differs from the
      `_inputs_fingerprint` the table was built with. -#}
{% macro crm_buyers_to_reaggregate(aggregate, as_of, window_days=[], inputs_fingerprint=none) -%}
    with aggregated_before as (

        select
            coalesce(max(_aggregated_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
                as aggregated_at,
            max(_aggregated_as_of) as as_of_date
            {%- if inputs_fingerprint %},
            max(_inputs_fingerprint) as inputs_fingerprint
            {%- endif %}
        from {{ aggregate }}

    ),

    since_last_build as (

        select
            aggregated_before.aggregated_at,
            aggregated_before.as_of_date > {{ as_of }}.as_of_date
            {%- if inputs_fingerprint %}
            or aggregated_before.inputs_fingerprint is distinct from {{ inputs_fingerprint }}.fingerprint
            {%- endif %} as everyone_again,
            {{ as_of }}.as_of_date as moved_to,
            coalesce(aggregated_before.as_of_date, {{ as_of }}.as_of_date) as moved_from
        from aggregated_before
        cross join {{ as_of }}
        {%- if inputs_fingerprint %}
        cross join {{ inputs_fingerprint }}
        {%- endif %}

    )

    select priced.contact_id
    from {{ ref('int_orders_priced') }} as priced
    cross join since_last_build
    where
        priced._priced_at > since_last_build.aggregated_at
        or since_last_build.everyone_again
        {%- for days in [0] + window_days %}
        or (
            priced.ordered_on > {{ dbt.dateadd('day', -days, 'since_last_build.moved_from') }}
            and priced.ordered_on <= {{ dbt.dateadd('day', -days, 'since_last_build.moved_to') }}
        )
        {%- endfor %}
    union
    select previous_versions.contact_id
    from {{ ref('base_crm__orders') }} as previous_versions
    cross join since_last_build
    where previous_versions._checked_at > since_last_build.aggregated_at
    union
    select aggregated.contact_id
    from {{ aggregate }} as aggregated
    cross join since_last_build
    where since_last_build.everyone_again
{%- endmacro %}
