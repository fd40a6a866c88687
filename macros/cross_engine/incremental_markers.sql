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
    {%- if target.type == 'spark' -%}
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
