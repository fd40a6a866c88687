{#- Product breadth per buyer: how many canonical categories their paid orders span. -#}
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

    select * from {{ ref('stg_crm__products') }}

)

select
    orders.contact_id,
    count(distinct products.category) as distinct_categories,
    count(distinct order_lines.product_id) as distinct_products
from order_lines
inner join orders
    on order_lines.order_id = orders.order_id
inner join products
    on order_lines.product_id = products.product_id
group by orders.contact_id
