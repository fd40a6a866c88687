{#- One row per staged order, with its lines summed and every amount in the reporting
    currency. The only place revenue, refunds and cost of goods are defined;
    int_orders_enriched keeps the orders up to the evaluation date.

    Incremental (DuckDB, PostgreSQL): a daily drop touches about 1% of the orders, so a build
    prices again only the orders whose order row or any of whose lines a staging build has
    rechecked since this table was last built (`_checked_at` of the base tables, which covers
    new versions, lines that moved to another order and orphans staged late). Every order is
    priced again when a product's cost or premium flag or a currency rate changes: the
    fingerprint of those inputs is kept on every row. Spark rebuilds the table each run, as it
    does its base tables. After changing this model's SQL, build it with --full-refresh. -#}
-- depends_on: {{ ref('base_crm__orders') }}
-- depends_on: {{ ref('base_crm__order_lines') }}
{{ config(
    materialized='incremental' if crm_engine_keeps_tables_incrementally() else 'table',
    incremental_strategy='delete+insert',
    unique_key='order_id',
    on_schema_change='fail',
    pre_hook=["{{ crm_keys_side_built_in_incremental_builds() }}"],
    post_hook=["{{ crm_join_side_choice_restored() }}"],
) }}

with products as (

    select * from {{ ref('stg_crm__products') }}

),

rates as (

    select * from {{ ref('currency_rates') }}

),

pricing as (

    select {{ crm_fingerprint(
        [
            ['products', ['product_id', 'unit_cost', 'is_premium']],
            ['rates', ['currency', 'rate_to_reporting_currency']],
        ],
        settings=['paid_order_statuses'],
    ) }} as fingerprint

),

{% if is_incremental() -%}
priced_before as (

    select
        coalesce(max(_priced_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) as priced_at,
        max(_pricing_fingerprint) as fingerprint
    from {{ this }}

),

orders_to_price as (

    select order_id from {{ ref('base_crm__orders') }}
    where _checked_at > (select priced_at from priced_before)
    union
    select order_id from {{ ref('base_crm__order_lines') }}
    where _checked_at > (select priced_at from priced_before)
    union
    select staged.order_id
    from {{ ref('stg_crm__orders') }} as staged
    cross join pricing
    cross join priced_before
    where pricing.fingerprint is distinct from priced_before.fingerprint

),

{% endif -%}
orders as (

    select * from {{ ref('stg_crm__orders') }}
    {%- if is_incremental() %}
    where order_id in (select order_id from orders_to_price)
    {%- endif %}

),

order_lines as (

    select * from {{ ref('stg_crm__order_lines') }}
    {%- if is_incremental() %}
    where order_id in (select order_id from orders_to_price)
    {%- endif %}

),

lines_per_order as (

    select
        order_lines.order_id,
        count(*) as order_lines,
        {{ crm_sum_whole('order_lines.quantity') }} as units,
        {{ crm_sum_whole('case when products.is_premium then order_lines.quantity else 0 end') }}
            as premium_units,
        sum(order_lines.gross_amount) as gross_amount,
        sum(order_lines.discount_amount) as discount_amount,
        sum(order_lines.net_amount) as net_amount,
        {{ crm_money('sum(order_lines.quantity * products.unit_cost)') }} as cost_of_goods
    from order_lines
    inner join products
        on order_lines.product_id = products.product_id
    group by order_lines.order_id

),

classified as (

    select
        orders.order_id,
        orders.contact_id,
        orders.consumer_contact_id,
        orders.is_gift,
        orders.ordered_at,
        orders.ordered_on,
        orders.channel,
        orders.status,
        orders.promo_code,
        orders.currency,
        {{ crm_is_paid_status('orders.status') }} as is_paid,
        orders.status = 'cancelled' as is_cancelled,
        orders.status = 'returned' as is_returned,
        orders.has_promo_code or coalesce(lines_per_order.discount_amount, 0) > 0 as is_discounted,
        coalesce(lines_per_order.order_lines, 0) as order_lines,
        coalesce(lines_per_order.units, 0) as units,
        coalesce(lines_per_order.premium_units, 0) as premium_units,
        {{ crm_in_reporting_currency('coalesce(lines_per_order.gross_amount, 0)', 'rates.rate_to_reporting_currency') }}
            as gross_amount,
        {{ crm_in_reporting_currency('coalesce(lines_per_order.discount_amount, 0)', 'rates.rate_to_reporting_currency') }}
            as discount_amount,
        {{ crm_in_reporting_currency('coalesce(lines_per_order.net_amount, 0)', 'rates.rate_to_reporting_currency') }}
            as net_amount,
        coalesce(lines_per_order.cost_of_goods, 0) as cost_of_goods_sold,
        pricing.fingerprint as _pricing_fingerprint
    from orders
    cross join pricing
    left join lines_per_order
        on orders.order_id = lines_per_order.order_id
    left join rates
        on orders.currency = rates.currency

)

select
    *,
    -- Value counts only on paid orders; a returned order is refunded in full and its goods
    -- go back to stock, so it carries a refund and no cost of goods.
    case when is_paid then gross_amount else 0 end as gross_revenue,
    case when is_paid then discount_amount else 0 end as discounts,
    case when is_returned then net_amount else 0 end as refunds,
    case when is_paid and not is_returned then net_amount else 0 end as net_revenue,
    case when is_paid and not is_returned then cost_of_goods_sold else 0 end as cost_of_goods,
    {{ crm_build_started_at() }} as _priced_at
from classified
