-- The cost rates the models read: one rate per cost item and channel, at least one for
-- each cost item, and no other cost item. Returns the (cost_item, channel) pairs written
-- more than once (the tickets' join by channel would count such a ticket once per row, and
-- the profitability model would silently take the highest rate), the cost items with no
-- rate (their cost would be null for every contact, and with it the profit) and the rates of
-- cost items no model reads (a misspelt name beside the right one, or an item added to the
-- seed but to no model: either way a cost that would silently count for nothing).
with cost_items_read as (

    select 'support_minute' as cost_item
    union all
    select 'order_handling'
    union all
    select 'return_handling'
    union all
    select 'late_payment_collection'

),

rates as (

    select
        cost_item,
        channel
    from {{ ref('cost_rates') }}

),

repeated as (

    select
        cost_item,
        channel,
        count(*) as rates
    from rates
    group by cost_item, channel
    having count(*) > 1

),

missing as (

    select
        cost_items_read.cost_item,
        cast(null as {{ dbt.type_string() }}) as channel,
        0 as rates
    from cost_items_read
    left join rates
        on cost_items_read.cost_item = rates.cost_item
    where rates.cost_item is null

),

not_read as (

    select
        rates.cost_item,
        rates.channel,
        count(*) as rates
    from rates
    left join cost_items_read
        on rates.cost_item = cost_items_read.cost_item
    where cost_items_read.cost_item is null
    group by rates.cost_item, rates.channel

)

select * from repeated
union all
select * from missing
union all
select * from not_read
