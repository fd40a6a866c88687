-- Every row keeps the value identities: net revenue = gross - discounts - refunds,
-- margin = net revenue - cost of goods, cost to serve = the sum of its parts,
-- profit = margin - cost to serve - acquisition cost.
select
    contact_id,
    net_revenue,
    gross_margin,
    cost_to_serve,
    profit
from {{ ref('customers') }}
where
    abs(net_revenue - (gross_revenue - discounts - refunds)) > 0.001
    or abs(gross_margin - (net_revenue - cost_of_goods)) > 0.001
    or abs(cost_to_serve - (support_cost + order_handling_cost + returns_handling_cost + collection_cost)) > 0.001
    or abs(profit - (gross_margin - cost_to_serve - acquisition_cost)) > 0.001
