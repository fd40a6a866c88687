{#- The customer mart: one row per contact with every fact, value and profitability
    measure (int_customers_facts), the predicted lifetime value, and every classification
    with the reason it was chosen. -#}
with assembled as (

    select
        facts.*,
        predictions.p_alive_bgnbd,
        predictions.p_alive_mbgnbd,
        predictions.expected_purchases,
        predictions.expected_average_spend,
        predictions.predicted_clv,
        predictions.value_model_status,
        activity.activity_status,
        activity.lapse_threshold_days,
        activity.activity_reason,
        lifecycle.lifecycle_stage,
        lifecycle.lifecycle_stage_reason,
        relationship.relationship_rung,
        relationship.relationship_rung_order,
        relationship.next_rung_action,
        relationship.relationship_rung_reason,
        tiers.value_tier,
        tiers.value_tier_reason,
        customer_types_flags.is_loyal,
        customer_types_flags.is_discount,
        customer_types_flags.is_impulsive,
        customer_types_flags.is_need_oriented,
        customer_types_flags.is_wanderer,
        customer_types_flags.is_high_volume,
        customer_types_flags.is_high_future_value,
        customer_types_flags.is_benchmark,
        customer_types_flags.is_door_opener,
        customer_types_flags.is_inspiring,
        customer_types_flags.customer_types,
        customer_types_flags.customer_types_reason,
        customer_types_flags.orientation,
        customer_types_flags.orientation_reason,
        service.is_curious,
        service.is_distrustful,
        service.is_paranoid,
        service.is_aggressive,
        service.is_finance_attentive,
        service.is_hurried,
        service.service_behaviours,
        service.service_behaviours_reason,
        service.toxicity_score,
        service.is_toxic,
        service.toxicity_indicators,
        service.service_minutes_budget,
        service.service_minutes_used,
        service.is_over_service_budget,
        service.silent_churn_risk,
        service.silent_churn_reason,
        strategy.strategy,
        strategy.strategy_rule,
        strategy.strategy_reason
    from {{ crm_per_contact_models_side_by_side(
        (ref('int_customers_facts'), 'facts'),
        [
            (ref('int_customers_value_predictions'), 'predictions'),
            (ref('int_customers_activity'), 'activity'),
            (ref('int_customers_lifecycle'), 'lifecycle'),
            (ref('int_customers_relationship'), 'relationship'),
            (ref('int_customers_value_tier'), 'tiers'),
            (ref('int_customers_types'), 'customer_types_flags'),
            (ref('int_customers_service_profile'), 'service'),
            (ref('int_customers_strategy'), 'strategy'),
        ],
    ) }}

)

{{ crm_cast_to_contract('assembled') }}
