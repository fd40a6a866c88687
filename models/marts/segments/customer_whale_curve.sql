{#- The whale curve (doc 003) per percentile of external customers: customers ranked by
    profit (profit_rank of the customer mart, 1 = most profitable), and for the top 1%,
    2%, ... 100% of them the cumulative profit as a share of total profit. It rises above 1
    while profitable customers are added and falls back to 1 as loss makers are. The top p%
    holds the first floor(p x customers / 100) ranks. -#}
with customers as (

    select * from {{ ref('customers') }}

),

evaluation as (

    select max(as_of_date) as as_of_date from customers

),

ranked as (

    select
        profit_rank,
        net_revenue,
        profit
    from customers
    where is_kpi_customer and profit_rank is not null

),

totals as (

    select
        count(*) as total_customers,
        sum(profit) as total_profit,
        sum(net_revenue) as total_revenue
    from ranked

),

digits as (
    {%- for digit in range(10) %}
    select {{ digit }} as digit{{ " union all" if not loop.last }}
    {%- endfor %}
),

percentiles as (

    select tens.digit * 10 + units.digit + 1 as customer_percentile
    from digits as tens
    cross join digits as units

),

bounds as (

    select
        percentiles.customer_percentile,
        cast(floor(percentiles.customer_percentile * totals.total_customers / 100.0) as bigint) as customers,
        totals.total_customers,
        totals.total_profit,
        totals.total_revenue
    from percentiles
    cross join totals

),

cumulated as (

    select
        bounds.customer_percentile,
        bounds.customers,
        bounds.total_customers,
        bounds.total_profit,
        bounds.total_revenue,
        coalesce(sum(ranked.profit), 0) as cumulative_profit,
        coalesce(sum(ranked.net_revenue), 0) as cumulative_revenue
    from bounds
    left join ranked
        on bounds.customers >= ranked.profit_rank
    group by
        bounds.customer_percentile,
        bounds.customers,
        bounds.total_customers,
        bounds.total_profit,
        bounds.total_revenue

),

final as (

    select
        evaluation.as_of_date,
        'external_customers' as population,
        cumulated.customer_percentile,
        cumulated.customers,
        case when cumulated.customers > 0 then cumulated.customers end as last_profit_rank,
        {{ crm_share('cumulated.customers', 'cumulated.total_customers') }} as customer_share,
        cumulated.customers - coalesce(
            lag(cumulated.customers) over (order by cumulated.customer_percentile), 0
        ) as percentile_customers,
        cumulated.cumulative_profit - coalesce(
            lag(cumulated.cumulative_profit) over (order by cumulated.customer_percentile), 0
        ) as percentile_profit,
        cumulated.cumulative_profit,
        {{ crm_share('cumulated.cumulative_profit', 'cumulated.total_profit') }} as cumulative_profit_share,
        cumulated.cumulative_revenue,
        {{ crm_share('cumulated.cumulative_revenue', 'cumulated.total_revenue') }} as cumulative_revenue_share
    from cumulated
    cross join evaluation

)

{{ crm_cast_to_contract('final') }}
