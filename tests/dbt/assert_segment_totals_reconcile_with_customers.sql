-- Per segment dimension, the segments add up to the customer mart: for an exclusive
-- dimension (every contact in exactly one value) the contacts, KPI customers, revenue and
-- profit equal the mart's totals; for an overlapping one (customer types, service
-- behaviours) every contact is in at least one value, so the sums are at least the totals.
with mart as (

    select
        count(*) as contacts,
        sum(case when is_kpi_customer then 1 else 0 end) as customers,
        sum(case when is_kpi_customer then net_revenue else 0 end) as revenue,
        sum(case when is_kpi_customer then profit else 0 end) as profit
    from {{ ref('customers') }}

),

segments as (

    select
        segment_dimension,
        is_exclusive,
        sum(contacts) as contacts,
        sum(customers) as customers,
        sum(revenue) as revenue,
        sum(profit) as profit
    from {{ ref('customer_segments') }}
    group by segment_dimension, is_exclusive

)

select
    segments.segment_dimension,
    segments.contacts,
    mart.contacts as mart_contacts,
    segments.customers,
    mart.customers as mart_customers,
    segments.revenue,
    mart.revenue as mart_revenue,
    segments.profit,
    mart.profit as mart_profit
from segments
cross join mart
where
    (
        segments.is_exclusive
        and (
            segments.contacts != mart.contacts
            or segments.customers != mart.customers
            or abs(segments.revenue - mart.revenue) > 0.01
            or abs(segments.profit - mart.profit) > 0.01
        )
    )
    or (
        not segments.is_exclusive
        and (segments.contacts < mart.contacts or segments.customers < mart.customers)
    )
