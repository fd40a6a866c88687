{#- Buying facts per buyer (the contact who paid), up to the evaluation date.

    Incremental (DuckDB, PostgreSQL): a daily drop changes the orders of about 1% of the
    buyers, and moving the evaluation date on by a day changes the buyers who have an order in
    one of the bands it crosses, so a build aggregates again only the buyers in
    crm_buyers_to_reaggregate and keeps the rest. A buyer left with no order up to the
    evaluation date (their only order moved to another contact) comes out of the query with
    no facts at all, and the post-hook deletes that row, as a rebuild would not have it.
    Spark rebuilds the table each run. After changing this model's SQL, build it with
    --full-refresh. -#}
-- depends_on: {{ ref('int_orders_priced') }}
-- depends_on: {{ ref('base_crm__orders') }}
{%- set year_in_days = 365 -%}
{{ crm_incremental_per_contact_config('paid_orders') }}

with as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

{% if is_incremental() -%}
since_last_build as (

    {{ crm_since_last_build(this, 'as_of') }}

),

buyers_to_reaggregate as (

    {{ crm_buyers_to_reaggregate(
        this, 'since_last_build', window_days=[year_in_days, 2 * year_in_days]
    ) }}

),

{% endif -%}
orders as (

    select * from {{ ref('int_orders_enriched') }}
    {%- if is_incremental() %}
    where contact_id in (select contact_id from buyers_to_reaggregate)
    {%- endif %}

),

purchase_days as (

    select
        contact_id,
        ordered_on,
        sum(net_revenue) as purchase_day_net_revenue
    from orders
    where is_paid
    group by contact_id, ordered_on

),

purchase_gaps as (

    select
        contact_id,
        {{ crm_days_between(
            'lag(ordered_on) over (partition by contact_id order by ordered_on)',
            'ordered_on'
        ) }} as days_since_previous_purchase,
        row_number() over (partition by contact_id order by ordered_on desc) as recency_rank,
        purchase_day_net_revenue
    from purchase_days

),

gaps_per_customer as (

    select
        contact_id,
        count(days_since_previous_purchase) as purchase_gaps,
        avg(days_since_previous_purchase) as mean_days_between_purchases,
        stddev_samp(days_since_previous_purchase) as stddev_days_between_purchases,
        -- the gap that ended with the latest purchase, and the rhythm before it: a long
        -- silence broken by the latest order is how a regained customer shows
        max(case when recency_rank = 1 then days_since_previous_purchase end) as latest_purchase_gap,
        avg(case when recency_rank > 1 then days_since_previous_purchase end)
            as mean_days_between_earlier_purchases,
        -- the value model's monetary input (Gamma-Gamma): the mean net revenue of the
        -- purchase days after the first, the only day with no previous purchase
        avg(case when days_since_previous_purchase is not null then purchase_day_net_revenue end)
            as mean_repeat_purchase_value
    from purchase_gaps
    group by contact_id

),

orders_per_customer as (

    select
        orders.contact_id,
        min(case when orders.is_paid then orders.ordered_on end) as first_order_date,
        max(case when orders.is_paid then orders.ordered_on end) as last_order_date,
        count(case when orders.is_paid then 1 end) as paid_orders,
        count(distinct case when orders.is_paid then orders.ordered_on end) as distinct_purchase_days,
        count(
            case
                when orders.is_paid
                    and orders.ordered_on > {{ dbt.dateadd('day', -year_in_days, 'as_of.as_of_date') }}
                    then 1
            end
        ) as paid_orders_last_12_months,
        count(
            case
                when orders.is_paid
                    and orders.ordered_on <= {{ dbt.dateadd('day', -year_in_days, 'as_of.as_of_date') }}
                    and orders.ordered_on > {{ dbt.dateadd('day', -2 * year_in_days, 'as_of.as_of_date') }}
                    then 1
            end
        ) as paid_orders_prior_12_months,
        {{ crm_sum_whole('case when orders.is_paid then orders.units else 0 end') }} as units,
        {{ crm_sum_whole('case when orders.is_paid then orders.premium_units else 0 end') }}
            as premium_units,
        count(case when orders.is_paid and orders.is_discounted then 1 end) as discounted_orders,
        count(case when orders.is_paid and orders.order_lines = 1 then 1 end) as single_item_orders,
        count(case when orders.is_paid and orders.is_gift then 1 end) as gift_orders_bought,
        count(case when orders.is_cancelled then 1 end) as cancelled_orders,
        count(case when orders.is_returned then 1 end) as returned_orders,
        {{ crm_money('sum(orders.gross_revenue)') }} as gross_revenue,
        {{ crm_money('sum(orders.discounts)') }} as discounts,
        {{ crm_money('sum(orders.refunds)') }} as refunds,
        {{ crm_money('sum(orders.net_revenue)') }} as net_revenue,
        {{ crm_money('sum(orders.cost_of_goods)') }} as cost_of_goods,
        sum(case when orders.is_paid then orders.gross_amount - orders.discount_amount else 0 end)
            as paid_order_value
    from orders
    cross join as_of
    group by orders.contact_id

),

per_buyer as (

    select
        orders_per_customer.contact_id,
        orders_per_customer.first_order_date,
        orders_per_customer.last_order_date,
        orders_per_customer.paid_orders,
        orders_per_customer.distinct_purchase_days,
        orders_per_customer.paid_orders_last_12_months,
        orders_per_customer.paid_orders_prior_12_months,
        orders_per_customer.units,
        orders_per_customer.premium_units,
        orders_per_customer.discounted_orders,
        orders_per_customer.single_item_orders,
        orders_per_customer.gift_orders_bought,
        orders_per_customer.cancelled_orders,
        orders_per_customer.returned_orders,
        orders_per_customer.gross_revenue,
        orders_per_customer.discounts,
        orders_per_customer.refunds,
        orders_per_customer.net_revenue,
        orders_per_customer.cost_of_goods,
        {{ crm_money('orders_per_customer.net_revenue - orders_per_customer.cost_of_goods') }} as gross_margin,
        {{ crm_safe_divide('orders_per_customer.paid_order_value', 'orders_per_customer.paid_orders') }}
            as average_order_value,
        {{ crm_safe_divide('orders_per_customer.discounted_orders', 'orders_per_customer.paid_orders') }}
            as discounted_order_share,
        coalesce(gaps_per_customer.purchase_gaps, 0) as purchase_gaps,
        gaps_per_customer.mean_days_between_purchases,
        gaps_per_customer.latest_purchase_gap,
        gaps_per_customer.mean_days_between_earlier_purchases,
        {{ value_model_as_double('gaps_per_customer.mean_repeat_purchase_value') }}
            as mean_repeat_purchase_value,
        {{ crm_safe_divide(
            'gaps_per_customer.stddev_days_between_purchases',
            'gaps_per_customer.mean_days_between_purchases'
        ) }} as purchase_gap_cv
    from orders_per_customer
    left join gaps_per_customer
        on orders_per_customer.contact_id = gaps_per_customer.contact_id

)

{{ crm_select_aggregated('per_buyer', [
    'first_order_date', 'last_order_date', 'paid_orders', 'distinct_purchase_days',
    'paid_orders_last_12_months', 'paid_orders_prior_12_months', 'units', 'premium_units',
    'discounted_orders', 'single_item_orders', 'gift_orders_bought', 'cancelled_orders',
    'returned_orders', 'gross_revenue', 'discounts', 'refunds', 'net_revenue', 'cost_of_goods',
    'gross_margin', 'average_order_value', 'discounted_order_share', 'purchase_gaps',
    'mean_days_between_purchases', 'latest_purchase_gap', 'mean_days_between_earlier_purchases',
    'purchase_gap_cv', 'mean_repeat_purchase_value',
], 'buyers_to_reaggregate') }}
