{#- The conditions and reasons of the strategy rules of seeds/strategy_rules.csv, by
    rule_id. The seed decides order and which rules are on; this is the only place a
    condition is written. Columns come from int_customers_strategy's `inputs` CTE. -#}
{% macro crm_strategy_rules() %}
    {{ return([
        {
            'rule_id': 'end_toxic_over_budget',
            'condition': "is_toxic and is_over_service_budget",
            'reason': "'toxicity score ' || " ~ crm_fmt('toxicity_score') ~ " || ', ' || " ~ crm_fmt('service_minutes_used') ~ " || ' support minutes in 30 days > budget of ' || " ~ crm_fmt('service_minutes_budget') ~ "",
        },
        {
            'rule_id': 'end_unprofitable_no_future',
            'condition': "value_tier = 'lead' and coalesce(predicted_clv, 0) <= " ~ var('end_max_predicted_clv'),
            'reason': "'lead tier (profit ' || " ~ crm_fmt('profit', 2) ~ " || '), predicted lifetime value ' || " ~ crm_fmt('predicted_clv', 2) ~ "",
        },
        {
            'rule_id': 'regain_lapsed_valuable',
            'condition': "activity_status = 'lapsed' and (value_tier in ('platinum', 'gold') or rfm_segment = 'cant_lose_them')",
            'reason': "'lapsed ' || " ~ crm_fmt('days_since_last_order') ~ " || ' days, tier ' || coalesce(value_tier, 'none') || ', RFM ' || coalesce(rfm_segment, 'none')",
        },
        {
            'rule_id': 'end_lapsed_low_value',
            'condition': "activity_status = 'lapsed' and value_tier in ('iron', 'lead')",
            'reason': "'lapsed ' || " ~ crm_fmt('days_since_last_order') ~ " || ' days, tier ' || value_tier || ', profit ' || " ~ crm_fmt('profit', 2) ~ "",
        },
        {
            'rule_id': 'protect_valuable_at_risk',
            'condition': "value_tier in ('platinum', 'gold') and (activity_status in ('at_risk', 'lapsed') or latest_nps_class = 'detractor' or paid_orders_last_12_months < paid_orders_prior_12_months)",
            'reason': "value_tier || ' tier, ' || activity_status || ', NPS ' || coalesce(latest_nps_class, 'none') || ', orders 12 months ' || " ~ crm_fmt('paid_orders_last_12_months') ~ " || ' vs ' || " ~ crm_fmt('paid_orders_prior_12_months') ~ " || ' the year before'",
        },
        {
            'rule_id': 're_engineer_costly_active',
            'condition': "activity_status in ('active', 'regained', 'at_risk') and (value_tier = 'lead' or cost_to_serve > " ~ var('re_engineer_min_cost_to_serve_share') ~ " * gross_margin)",
            'reason': "activity_status || ', tier ' || coalesce(value_tier, 'none') || ', cost to serve ' || " ~ crm_fmt('cost_to_serve', 2) ~ " || ' vs gross margin ' || " ~ crm_fmt('gross_margin', 2) ~ "",
        },
        {
            'rule_id': 'enhance_room_to_grow',
            'condition': "profit > 0 and (predicted_clv >= " ~ var('enhance_min_predicted_to_historic_ratio') ~ " * gross_margin or (paid_orders > 1 and distinct_categories <= " ~ var('enhance_max_categories') ~ "))",
            'reason': "'profit ' || " ~ crm_fmt('profit', 2) ~ " || ', predicted lifetime value ' || " ~ crm_fmt('predicted_clv', 2) ~ " || ' vs margin so far ' || " ~ crm_fmt('gross_margin', 2) ~ " || ', ' || " ~ crm_fmt('distinct_categories') ~ " || ' categories'",
        },
        {
            'rule_id': 'harvest_profitable_stable',
            'condition': "profit > 0",
            'reason': "'profit ' || " ~ crm_fmt('profit', 2) ~ " || ', tier ' || coalesce(value_tier, 'none') || ', ' || activity_status",
        },
        {
            'rule_id': 'start_high_potential_prospect',
            'condition': "is_prospect and (lifecycle_stage = 'acquisition' or is_door_opener)",
            'reason': "'prospect in stage ' || lifecycle_stage || ', ' || " ~ crm_fmt('engagement_touches') ~ " || ' engagement touches'",
        },
        {
            'rule_id': 'end_prospect_without_potential',
            'condition': "is_prospect",
            'reason': "'prospect in stage ' || lifecycle_stage || ' with no engagement'",
        },
        {
            'rule_id': 're_engineer_remaining_customers',
            'condition': "not is_prospect",
            'reason': "'customer, tier ' || coalesce(value_tier, 'none') || ', profit ' || " ~ crm_fmt('profit', 2) ~ " || ', ' || activity_status",
        },
    ]) }}
{% endmacro %}
