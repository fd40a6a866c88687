{#- The strategy worklist: every contact with the management strategy to apply, why, the
    action that moves them one rung up, and their value, ranked highest value first within
    each strategy (predicted lifetime value, then realised profit, then contact_id) and
    overall. Internal contacts and prospects stay on the list, flagged. -#}
with customers as (

    select * from {{ ref('customers') }}

),

valued as (

    select
        as_of_date,
        contact_id,
        strategy,
        strategy_rule,
        strategy_reason,
        next_rung_action,
        relationship_rung,
        lifecycle_stage,
        activity_status,
        value_tier,
        account_type,
        is_kpi_customer,
        is_prospect,
        is_internal,
        net_revenue,
        profit,
        predicted_clv,
        case when predicted_clv is null then 1 else 0 end as has_no_prediction
    from customers

),

final as (

    select
        valued.*,
        row_number() over (
            partition by valued.strategy
            order by
                valued.has_no_prediction asc,
                valued.predicted_clv desc,
                valued.profit desc,
                valued.contact_id asc
        ) as strategy_rank,
        row_number() over (
            order by
                valued.has_no_prediction asc,
                valued.predicted_clv desc,
                valued.profit desc,
                valued.contact_id asc
        ) as worklist_rank
    from valued

)

{{ crm_cast_to_contract('final') }}
