{#- Orders a contact received as the consumer while someone else paid (gifts, doc 000). -#}
with orders as (

    select * from {{ ref('int_orders_enriched') }}

)

select
    consumer_contact_id as contact_id,
    count(*) as orders_received_as_consumer
from orders
where is_paid and consumer_contact_id <> contact_id
group by consumer_contact_id
