{#- Activity status (doc 001's churn rule for non-contractual buying), one per contact:
    lapsed when the days since the last order exceed
    max(lapse_min_days, lapse_ipt_multiple x own mean inter-purchase time), at risk beyond
    lapse_at_risk_fraction of that, otherwise active, or regained when the latest order
    ended a lapse. One-time buyers use the population median inter-purchase time.
    Prospects have not bought: 'prospect'.
    Regained comes from the state history when it has a refresh before the customer's
    latest order (int_customer_states_recorded): regained when the status recorded at the
    last such refresh was lapsed. The customer stays regained until the next order, or
    until at risk or lapsed again. Without such a refresh (first build, history started
    after that order) the order history decides: the latest order ended a silence longer
    than the lapse threshold of its time, and the reason says so. -#}
with facts as (

    select * from {{ ref('int_customers_facts') }}

),

recorded as (

    select * from {{ ref('int_customer_states_recorded') }}

),

-- the last refresh of the state history before each customer's latest order (a refresh
-- on the day of the order already counts it), never one after the as_of_date
refresh_before_latest_order as (

    select
        facts.contact_id,
        recorded.refresh_date,
        recorded.activity_status,
        row_number() over (
            partition by facts.contact_id order by recorded.refresh_date desc
        ) as recency_rank
    from facts
    inner join recorded
        on
            facts.contact_id = recorded.contact_id
            and facts.last_order_date > recorded.refresh_date
            and facts.as_of_date > recorded.refresh_date

),

population as (

    select {{ crm_median('mean_days_between_purchases') }} as median_days_between_purchases
    from facts
    where mean_days_between_purchases is not null and not is_internal

),

thresholds as (

    select
        facts.contact_id,
        facts.paid_orders,
        facts.last_order_date,
        {{ crm_days_between('facts.last_order_date', 'facts.as_of_date') }} as days_since_last_order,
        coalesce(facts.mean_days_between_purchases, population.median_days_between_purchases)
            as typical_gap_days,
        facts.mean_days_between_purchases is null as uses_population_gap,
        facts.latest_purchase_gap,
        coalesce(
            facts.mean_days_between_earlier_purchases, population.median_days_between_purchases
        ) as earlier_typical_gap_days,
        previous.refresh_date as previous_refresh_date,
        previous.activity_status as previous_activity_status
    from facts
    cross join population
    left join refresh_before_latest_order as previous
        on facts.contact_id = previous.contact_id and previous.recency_rank = 1

),

limits as (

    select
        *,
        case
            when {{ var('lapse_ipt_multiple') }} * coalesce(typical_gap_days, 0) > {{ var('lapse_min_days') }}
                then {{ var('lapse_ipt_multiple') }} * typical_gap_days
            else {{ var('lapse_min_days') }}
        end as lapse_threshold_days,
        case
            when {{ var('lapse_ipt_multiple') }} * coalesce(earlier_typical_gap_days, 0) > {{ var('lapse_min_days') }}
                then {{ var('lapse_ipt_multiple') }} * earlier_typical_gap_days
            else {{ var('lapse_min_days') }}
        end as earlier_lapse_threshold_days
    from thresholds

),

classified as (

    select
        *,
        case
            when paid_orders = 0 then 'prospect'
            when days_since_last_order > lapse_threshold_days then 'lapsed'
            when days_since_last_order > {{ var('lapse_at_risk_fraction') }} * lapse_threshold_days
                then 'at_risk'
            when previous_activity_status = 'lapsed' then 'regained'
            when previous_refresh_date is null and latest_purchase_gap > earlier_lapse_threshold_days
                then 'regained'
            else 'active'
        end as activity_status,
        case
            when {{ var('lapse_ipt_multiple') }} * coalesce(typical_gap_days, 0) > {{ var('lapse_min_days') }}
                then {{ crm_fmt(var('lapse_ipt_multiple')) }} || ' x '
                    || case when uses_population_gap then 'population median gap' else 'mean gap' end
                    || ' of ' || {{ crm_fmt('typical_gap_days') }} || ' days'
            else 'the minimum of ' || {{ crm_fmt(var('lapse_min_days')) }} || ' days'
        end as threshold_text
    from limits

)

select
    contact_id,
    activity_status,
    days_since_last_order,
    case when paid_orders > 0 then lapse_threshold_days end as lapse_threshold_days,
    case activity_status
        when 'prospect' then 'prospect: no paid order yet'
        when 'lapsed'
            then
                'lapsed: ' || {{ crm_fmt('days_since_last_order') }} || ' days since last order > '
                || threshold_text
        when 'at_risk'
            then
                'at_risk: ' || {{ crm_fmt('days_since_last_order') }} || ' days since last order > '
                || {{ crm_fmt_pct(var('lapse_at_risk_fraction')) }} || ' of the lapse threshold of '
                || {{ crm_fmt('lapse_threshold_days') }} || ' days (' || threshold_text || ')'
        when 'regained'
            then
                case
                    when previous_refresh_date is not null
                        then
                            'regained: lapsed at the refresh of '
                            || cast(previous_refresh_date as {{ dbt.type_string() }})
                            || ', ordered on ' || cast(last_order_date as {{ dbt.type_string() }})
                    else
                        'regained: latest order ended a silence of ' || {{ crm_fmt('latest_purchase_gap') }}
                        || ' days > lapse threshold of ' || {{ crm_fmt('earlier_lapse_threshold_days') }}
                        || ' days (order history: no refresh before that order in the state history)'
                end
        else
            'active: ' || {{ crm_fmt('days_since_last_order') }} || ' days since last order <= '
            || {{ crm_fmt_pct(var('lapse_at_risk_fraction')) }} || ' of the lapse threshold of '
            || {{ crm_fmt('lapse_threshold_days') }} || ' days'
    end as activity_reason
from classified
