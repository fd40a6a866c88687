{#- What surrounds each purchase, per buyer: orders prompted by research (an engagement
    touch or a ticket in the var prompt_lookback_days before the order) and complaints
    soon after a purchase (within var distrust_window_days). -#}
with orders as (

    select
        order_id,
        contact_id,
        ordered_on
    from {{ ref('int_orders_enriched') }}
    where is_paid

),

interactions as (

    select
        contact_id,
        cast(touched_at as date) as interaction_on
    from {{ ref('stg_crm__marketing_touches') }}
    where is_engagement
    union all
    select
        contact_id,
        cast(opened_at as date) as interaction_on
    from {{ ref('stg_crm__support_tickets') }}

),

complaints as (

    select
        tickets.ticket_id,
        tickets.contact_id,
        cast(tickets.opened_at as date) as opened_on
    from {{ ref('stg_crm__support_tickets') }} as tickets
    cross join {{ ref('int_as_of_date') }} as as_of
    where
        tickets.ticket_category = 'complaint'
        and cast(tickets.opened_at as date) <= as_of.as_of_date

),

prompted_orders as (

    select
        orders.contact_id,
        orders.order_id
    from orders
    inner join interactions
        on
            orders.contact_id = interactions.contact_id
            and orders.ordered_on >= interactions.interaction_on
            and interactions.interaction_on
            >= {{ dbt.dateadd('day', -var('prompt_lookback_days'), 'orders.ordered_on') }}
    group by orders.contact_id, orders.order_id

),

complaints_after_purchase as (

    select
        complaints.contact_id,
        complaints.ticket_id
    from complaints
    inner join orders
        on
            complaints.contact_id = orders.contact_id
            and complaints.opened_on >= orders.ordered_on
            and complaints.opened_on
            <= {{ dbt.dateadd('day', var('distrust_window_days'), 'orders.ordered_on') }}
    group by complaints.contact_id, complaints.ticket_id

),

per_contact as (

    select
        contact_id,
        count(*) as prompted_orders,
        0 as complaints_soon_after_purchase
    from prompted_orders
    group by contact_id
    union all
    select
        contact_id,
        0 as prompted_orders,
        count(*) as complaints_soon_after_purchase
    from complaints_after_purchase
    group by contact_id

)

select
    contact_id,
    sum(prompted_orders) as prompted_orders,
    sum(complaints_soon_after_purchase) as complaints_soon_after_purchase
from per_contact
group by contact_id
