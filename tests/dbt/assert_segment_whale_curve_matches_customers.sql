-- The whale curve agrees with the customer mart: at every percentile the cumulative profit
-- share equals the mart's cumulative_profit_share of the last customer included, and the
-- 100th percentile holds every external customer and their total profit.
with curve as (

    select * from {{ ref('customer_whale_curve') }}

),

customers as (

    select * from {{ ref('customers') }}

),

totals as (

    select
        sum(case when is_kpi_customer then 1 else 0 end) as customers,
        sum(case when is_kpi_customer then profit else 0 end) as profit
    from customers

)

select
    curve.customer_percentile,
    curve.customers,
    curve.cumulative_profit_share,
    customers.cumulative_profit_share as mart_cumulative_profit_share
from curve
left join customers
    on curve.last_profit_rank = customers.profit_rank
where
    curve.last_profit_rank is not null
    and (
        customers.contact_id is null
        or abs(curve.cumulative_profit_share - customers.cumulative_profit_share) > 0.000001
    )

union all

select
    curve.customer_percentile,
    curve.customers,
    curve.cumulative_profit_share,
    null as mart_cumulative_profit_share
from curve
cross join totals
where
    curve.customer_percentile = 100
    and (curve.customers != totals.customers or abs(curve.cumulative_profit - totals.profit) > 0.01)
