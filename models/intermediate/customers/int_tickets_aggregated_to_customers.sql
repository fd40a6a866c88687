{#- Service interactions per contact up to the evaluation date: volume by canonical
    category, effort, urgency, timing and the support cost they caused. -#}
{%- set categories = [
    'question', 'complaint', 'document_request', 'escalation', 'price_negotiation',
    'out_of_catalogue_request', 'suggestion', 'billing', 'other'
] -%}

with tickets as (

    select * from {{ ref('stg_crm__support_tickets') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

first_orders as (

    select
        contact_id,
        first_order_date
    from {{ ref('int_orders_aggregated_to_customers') }}

),

minute_rates as (

    select
        channel,
        rate
    from {{ ref('cost_rates') }}
    where cost_item = 'support_minute'

),

tickets_in_scope as (

    select
        tickets.*,
        minute_rates.rate * tickets.handling_minutes as support_cost,
        {{ crm_is_outside_business_hours('tickets.opened_at') }} as is_outside_business_hours,
        cast(tickets.opened_at as date) > {{ dbt.dateadd('day', -30, 'as_of.as_of_date') }} as is_last_30_days,
        tickets.is_pre_purchase
        or first_orders.first_order_date is null
        or cast(tickets.opened_at as date) < first_orders.first_order_date as is_before_first_purchase
    from tickets
    cross join as_of
    left join first_orders
        on tickets.contact_id = first_orders.contact_id
    left join minute_rates
        on tickets.channel = minute_rates.channel
    where cast(tickets.opened_at as date) <= as_of.as_of_date

)

select
    contact_id,
    count(*) as tickets,
    {%- for category in categories %}
    count(case when ticket_category = '{{ category }}' then 1 end) as {{ category }}_tickets,
    {%- endfor %}
    {{ crm_money('sum(handling_minutes)') }} as support_minutes,
    {{ crm_money('sum(case when is_last_30_days then handling_minutes else 0 end)') }}
        as support_minutes_last_30_days,
    {{ crm_money('sum(coalesce(support_cost, 0))') }} as support_cost,
    {{ crm_safe_divide('count(case when is_urgent then 1 end)', 'count(*)') }} as urgent_ticket_share,
    {{ crm_safe_divide('count(case when is_outside_business_hours then 1 end)', 'count(*)') }}
        as outside_business_hours_share,
    {{ crm_safe_divide('sum(clarification_round_trips)', 'count(*)') }} as clarification_round_trips_per_ticket,
    count(
        case when ticket_category = 'question' and is_before_first_purchase then 1 end
    ) as questions_before_first_purchase,
    max(cast(opened_at as date)) as last_ticket_date
from tickets_in_scope
group by contact_id
