{#- What each buyer buys: category breadth, and units of the newest technology generation
    of their category, of cheap products (list price in the bottom part of the category,
    var cheap_price_max_percentile) and of services/repairs, on paid orders. -#}
with orders as (

    select
        order_id,
        contact_id
    from {{ ref('int_orders_enriched') }}
    where is_paid

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

)

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
