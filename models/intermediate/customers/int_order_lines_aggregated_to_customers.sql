{#- What each buyer buys: category breadth, and units of the newest technology generation
    of their category, of cheap products (list price in the bottom part of the category,
    var cheap_price_max_percentile) and of services/repairs, on paid orders up to the
    evaluation date.

    Incremental (DuckDB, PostgreSQL), like int_orders_aggregated_to_customers: a build
    aggregates again only the buyers in crm_buyers_to_reaggregate (orders priced again, which
    covers their lines, or rechecked; orders the evaluation date's move let in or out), and
    every buyer when a product's category, technology generation or list price changes or a
    product is added (the newest generation and the price percentiles are per category). A
    buyer left with nothing to aggregate is deleted by the post-hook. Spark rebuilds the table
    each run. After changing this model's SQL, build it with --full-refresh. -#}
-- depends_on: {{ ref('int_orders_priced') }}
-- depends_on: {{ ref('base_crm__orders') }}
{{ config(
    materialized='incremental' if crm_engine_keeps_tables_incrementally() else 'table',
    incremental_strategy='delete+insert',
    unique_key='contact_id',
    on_schema_change='fail',
    post_hook=["delete from {{ this }} where distinct_products is null"]
    if crm_engine_keeps_tables_incrementally() else [],
) }}

with as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

product_attributes as (

    select {{ crm_fingerprint([
        [ref('stg_crm__products'), ['product_id', 'category', 'technology_generation', 'list_price']],
    ]) }} as fingerprint

),

{% if is_incremental() -%}
buyers_to_reaggregate as (

    {{ crm_buyers_to_reaggregate(this, 'as_of', inputs_fingerprint='product_attributes') }}

),

{% endif -%}
orders as (

    select
        order_id,
        contact_id
    from {{ ref('int_orders_enriched') }}
    where is_paid
    {%- if is_incremental() %}
        and contact_id in (select contact_id from buyers_to_reaggregate)
    {%- endif %}

),

order_lines as (

    select * from {{ ref('stg_crm__order_lines') }}

),

products as (

    select
        product_id,
        category,
        technology_generation,
        technology_generation = max(technology_generation) over (partition by category)
            as is_newest_technology,
        percent_rank() over (partition by category order by list_price asc) as price_percentile
    from {{ ref('stg_crm__products') }}

),

lines_per_buyer as (

    select
        orders.contact_id,
        count(distinct products.category) as distinct_categories,
        count(distinct order_lines.product_id) as distinct_products,
        sum(case when products.is_newest_technology then order_lines.quantity else 0 end)
            as newest_technology_units,
        sum(
            case
                when products.price_percentile <= {{ var('cheap_price_max_percentile') }}
                    then order_lines.quantity
                else 0
            end
        ) as cheap_units,
        sum(case when products.category = 'services' then order_lines.quantity else 0 end)
            as service_units
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    inner join products
        on order_lines.product_id = products.product_id
    group by orders.contact_id

)

select
    {% if is_incremental() -%}
    buyers_to_reaggregate.contact_id,
    {%- else -%}
    lines_per_buyer.contact_id,
    {%- endif %}
    lines_per_buyer.distinct_categories,
    lines_per_buyer.distinct_products,
    lines_per_buyer.newest_technology_units,
    lines_per_buyer.cheap_units,
    lines_per_buyer.service_units,
    as_of.as_of_date as _aggregated_as_of,
    product_attributes.fingerprint as _inputs_fingerprint,
    {{ crm_build_started_at() }} as _aggregated_at
{% if is_incremental() -%}
from buyers_to_reaggregate
cross join as_of
cross join product_attributes
left join lines_per_buyer
    on buyers_to_reaggregate.contact_id = lines_per_buyer.contact_id
{%- else -%}
from lines_per_buyer
cross join as_of
cross join product_attributes
{%- endif %}
