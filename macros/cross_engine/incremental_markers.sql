{#- When this dbt invocation started (UTC), as a timestamp every engine reads. Incremental
    models stamp the rows they (re)write with it, so a model downstream can tell the rows
    changed since its own last build: a later invocation carries a later stamp, as long as
    the machine's clock does not go back between two builds. -#}
{% macro crm_build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- One text that changes whenever a product's unit cost or premium flag, or a currency rate,
    changes: what the price of every order depends on besides its own rows. Spark rebuilds
    int_orders_priced on every run and never compares it (and its listagg cannot order). -#}
{% macro crm_pricing_fingerprint(products, rates) -%}
    {%- if not crm_engine_keeps_tables_incrementally() -%}
    cast(null as {{ dbt.type_string() }})
    {%- else -%}
    {%- set product_text = dbt.concat([
        'product_id', "'='",
        dbt.cast('unit_cost', dbt.type_string()), "'/'",
        dbt.cast('is_premium', dbt.type_string()),
    ]) -%}
    {%- set rate_text = dbt.concat([
        'currency', "'='", dbt.cast('rate_to_reporting_currency', dbt.type_string()),
    ]) -%}
    {{ dbt.hash(dbt.concat([
        '(select ' ~ dbt.listagg(product_text, "'|'", 'order by product_id') ~ ' from ' ~ products ~ ')',
        "'#'",
        '(select ' ~ dbt.listagg(rate_text, "'|'", 'order by currency') ~ ' from ' ~ rates ~ ')',
    ])) }}
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
    - everyone, when the evaluation date went back: the bands are kept from the latest date
      only, so a date that moves back and forth is not traced. -#}
{% macro crm_buyers_to_reaggregate(aggregate, as_of, window_days=[]) -%}
    with aggregated_before as (

        select
            coalesce(max(_aggregated_at), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
                as aggregated_at,
            max(_aggregated_as_of) as as_of_date
        from {{ aggregate }}

    ),

    date_move as (

        select
            aggregated_before.aggregated_at,
            aggregated_before.as_of_date > {{ as_of }}.as_of_date as went_back,
            {{ as_of }}.as_of_date as moved_to,
            coalesce(aggregated_before.as_of_date, {{ as_of }}.as_of_date) as moved_from
        from aggregated_before
        cross join {{ as_of }}

    )

    select priced.contact_id
    from {{ ref('int_orders_priced') }} as priced
    cross join date_move
    where
        priced._priced_at > date_move.aggregated_at
        or date_move.went_back
        {%- for days in [0] + window_days %}
        or (
            priced.ordered_on > {{ dbt.dateadd('day', -days, 'date_move.moved_from') }}
            and priced.ordered_on <= {{ dbt.dateadd('day', -days, 'date_move.moved_to') }}
        )
        {%- endfor %}
    union
    select previous_versions.contact_id
    from {{ ref('base_crm__orders') }} as previous_versions
    cross join date_move
    where previous_versions._checked_at > date_move.aggregated_at
    union
    select aggregated.contact_id
    from {{ aggregate }} as aggregated
    cross join date_move
    where date_move.went_back
{%- endmacro %}
