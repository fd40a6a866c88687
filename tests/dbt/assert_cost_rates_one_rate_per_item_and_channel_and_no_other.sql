-- The cost rates the models read: exactly one rate for each (cost_item, channel) pair a
-- model looks up, and no other pair. Returns, with the problem named:
-- - pairs written more than once (the tickets' join by channel would count such a ticket
--   once per row, and the profitability model would silently take the highest rate);
-- - pairs with no rate: a cost item missing altogether leaves its cost null for every
--   contact, and with it the profit; a ticket channel with no support-minute rate leaves
--   every ticket of that channel costing 0;
-- - pairs no model reads: a misspelt cost item or channel beside the right one, an item
--   added to the seed but to no model, or a per-order item priced by channel: a rate that
--   would silently count for nothing.
-- The support-minute channels are the ticket channels the extract contract allows
-- (`allowed` of support_tickets.channel in _crm__sources.yml), so a channel added to the
-- contract fails here until it has a rate.
{#- The dbt graph is empty while dbt parses; it is read when the test runs. -#}
{%- set ticket_channels = crm_contract_column(crm_source_node('support_tickets'), 'channel').allowed
    if execute else [] %}
with rates_read as (

    {% for channel in ticket_channels -%}
    select
        'support_minute' as cost_item,
        '{{ channel }}' as channel
    union all
    {% endfor -%}
    select
        'order_handling' as cost_item,
        'all' as channel
    union all
    select
        'return_handling' as cost_item,
        'all' as channel
    union all
    select
        'late_payment_collection' as cost_item,
        'all' as channel

),

rates as (

    select
        cost_item,
        channel
    from {{ ref('cost_rates') }}

),

repeated as (

    select
        'written more than once' as problem,
        cost_item,
        channel,
        count(*) as rates
    from rates
    group by cost_item, channel
    having count(*) > 1

),

missing as (

    select
        'no rate' as problem,
        rates_read.cost_item,
        rates_read.channel,
        0 as rates
    from rates_read
    left join rates
        on
            rates_read.cost_item = rates.cost_item
            and rates_read.channel = rates.channel
    where rates.cost_item is null

),

not_read as (

    select
        'read by no model' as problem,
        rates.cost_item,
        rates.channel,
        count(*) as rates
    from rates
    left join rates_read
        on
            rates.cost_item = rates_read.cost_item
            and rates.channel = rates_read.channel
    where rates_read.cost_item is null
    group by rates.cost_item, rates.channel

)

select * from repeated
union all
select * from missing
union all
select * from not_read
