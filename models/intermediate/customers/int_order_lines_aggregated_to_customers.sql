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
{{ crm_incremental_per_contact_config('distinct_products') }}

with as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

product_attributes as (

    select {{ crm_fingerprint(
        [[ref('stg_crm__products'), ['product_id', 'category', 'technology_generation', 'list_price']]],
        settings=['cheap_price_max_percentile'],
    ) }} as fingerprint

),

{% if is_incremental() -%}
since_last_build as (

    {{ crm_since_last_build(this, 'as_of', inputs_fingerprint='product_attributes') }}

),

buyers_to_reaggregate as (

    {{ crm_buyers_to_reaggregate(this, 'since_last_build') }}

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
        {{ crm_sum_whole('case when products.is_newest_technology then order_lines.quantity else 0 end') }}
            as newest_technology_units,
        {{ crm_sum_whole(
            'case when products.price_percentile <= ' ~ var('cheap_price_max_percentile')
            ~ ' then order_lines.quantity else 0 end'
        ) }} as cheap_units,
        {{ crm_sum_whole("case when products.category = 'services' then order_lines.quantity else 0 end") }}
            as service_units
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    inner join products
        on order_lines.product_id = products.product_id
    group by orders.contact_id

)

{{ crm_select_aggregated(
    'lines_per_buyer',
    ['distinct_categories', 'distinct_products', 'newest_technology_units', 'cheap_units', 'service_units'],
    'buyers_to_reaggregate',
    inputs_fingerprint='product_attributes',
) }}
