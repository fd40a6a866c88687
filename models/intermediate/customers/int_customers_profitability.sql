{#- Profit per contact (doc 003: revenue - costs = profit): gross margin less the cost to
    serve and the acquisition cost, and each customer's place on the whale curve. Ranks and
    shares cover external customers only: prospects have no profit to rank and internal
    customers are kept out of customer KPIs. -#}
with contacts as (

    select
        contacts.contact_id,
        contacts.is_internal
    from {{ ref('stg_crm__contacts') }} as contacts
    cross join {{ ref('int_as_of_date') }} as as_of
    where {{ crm_contact_exists_on('contacts.created_at', 'as_of.as_of_date') }}

),

buying as (

    select * from {{ ref('int_orders_aggregated_to_customers') }}

),

service as (

    select
        contact_id,
        support_cost
    from {{ ref('int_tickets_aggregated_to_customers') }}

),

paying as (

    select
        contact_id,
        late_invoices
    from {{ ref('int_invoices_aggregated_to_customers') }}

),

acquisition as (

    select
        contact_id,
        acquisition_cost
    from {{ ref('int_contacts_acquisition_cost') }}

),

rates as (

    select
        max(case when cost_item = 'order_handling' then rate end) as order_handling_rate,
        max(case when cost_item = 'return_handling' then rate end) as return_handling_rate,
        max(case when cost_item = 'late_payment_collection' then rate end) as collection_rate
    from {{ ref('cost_rates') }}

),

costs as (

    select
        contacts.contact_id,
        contacts.is_internal,
        coalesce(buying.paid_orders, 0) > 0 as is_customer,
        coalesce(buying.gross_margin, 0) as gross_margin,
        coalesce(service.support_cost, 0) as support_cost,
        {{ crm_money('coalesce(buying.paid_orders, 0) * rates.order_handling_rate') }} as order_handling_cost,
        {{ crm_money('coalesce(buying.returned_orders, 0) * rates.return_handling_rate') }}
            as returns_handling_cost,
        {{ crm_money('coalesce(paying.late_invoices, 0) * rates.collection_rate') }} as collection_cost,
        coalesce(acquisition.acquisition_cost, 0) as acquisition_cost
    from contacts
    cross join rates
    left join buying
        on contacts.contact_id = buying.contact_id
    left join service
        on contacts.contact_id = service.contact_id
    left join paying
        on contacts.contact_id = paying.contact_id
    left join acquisition
        on contacts.contact_id = acquisition.contact_id

),

profit as (

    select
        *,
        {{ crm_money('support_cost + order_handling_cost + returns_handling_cost + collection_cost') }}
            as cost_to_serve,
        {{ crm_money(
            'gross_margin'
            ~ ' - (support_cost + order_handling_cost + returns_handling_cost + collection_cost)'
            ~ ' - acquisition_cost'
        ) }} as profit,
        is_customer and not is_internal as is_ranked
    from costs

),

whale_curve as (

    select
        contact_id,
        row_number() over (order by profit desc, contact_id asc) as profit_rank,
        sum(profit) over (
            order by profit desc, contact_id asc rows between unbounded preceding and current row
        ) as cumulative_profit,
        sum(profit) over () as total_profit
    from profit
    where is_ranked

)

select
    profit.contact_id,
    profit.gross_margin,
    profit.support_cost,
    profit.order_handling_cost,
    profit.returns_handling_cost,
    profit.collection_cost,
    profit.cost_to_serve,
    profit.acquisition_cost,
    profit.profit,
    whale_curve.profit_rank,
    {{ crm_safe_divide('profit.profit', 'whale_curve.total_profit') }} as profit_share,
    {{ crm_safe_divide('whale_curve.cumulative_profit', 'whale_curve.total_profit') }}
        as cumulative_profit_share
from profit
left join whale_curve
    on profit.contact_id = whale_curve.contact_id
