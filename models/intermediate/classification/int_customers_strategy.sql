{#- The management strategy (doc 001's seven strategies), exactly one per contact: every
    rule of macros/marts/strategy_rules.sql is evaluated, and the enabled rule with the
    lowest priority in seeds/strategy_rules.csv that matches wins. Reordering or switching
    off rules is a seed edit, not a SQL change. -#}
with inputs as (

    select
        facts.contact_id,
        facts.is_prospect,
        facts.profit,
        facts.gross_margin,
        facts.cost_to_serve,
        facts.distinct_categories,
        facts.paid_orders,
        facts.paid_orders_last_12_months,
        facts.paid_orders_prior_12_months,
        facts.latest_nps_class,
        facts.rfm_segment,
        facts.engagement_touches,
        activity.activity_status,
        activity.days_since_last_order,
        lifecycle.lifecycle_stage,
        tiers.value_tier,
        customer_types_flags.is_door_opener,
        service.is_toxic,
        service.toxicity_score,
        service.is_over_service_budget,
        service.service_minutes_used,
        service.service_minutes_budget,
        predictions.predicted_clv
    from {{ ref('int_customers_facts') }} as facts
    left join {{ ref('int_customers_activity') }} as activity
        on facts.contact_id = activity.contact_id
    left join {{ ref('int_customers_lifecycle') }} as lifecycle
        on facts.contact_id = lifecycle.contact_id
    left join {{ ref('int_customers_value_tier') }} as tiers
        on facts.contact_id = tiers.contact_id
    left join {{ ref('int_customers_types') }} as customer_types_flags
        on facts.contact_id = customer_types_flags.contact_id
    left join {{ ref('int_customers_service_profile') }} as service
        on facts.contact_id = service.contact_id
    left join {{ ref('int_customers_value_predictions') }} as predictions
        on facts.contact_id = predictions.contact_id

),

matches as (

    {% for rule in crm_strategy_rules() %}
    select
        contact_id,
        '{{ rule.rule_id }}' as rule_id,
        {{ rule.reason }} as rule_detail
    from inputs
    where coalesce({{ rule.condition }}, false)
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

ranked as (

    select
        matches.contact_id,
        rules.strategy,
        rules.rule_id,
        rules.description,
        matches.rule_detail,
        row_number() over (partition by matches.contact_id order by rules.priority asc) as match_rank
    from matches
    inner join {{ ref('strategy_rules') }} as rules
        on matches.rule_id = rules.rule_id
    where rules.is_enabled

)

select
    inputs.contact_id,
    ranked.strategy,
    ranked.rule_id as strategy_rule,
    ranked.strategy || ' (' || ranked.rule_id || '): ' || ranked.rule_detail as strategy_reason
from inputs
left join ranked
    on inputs.contact_id = ranked.contact_id and ranked.match_rank = 1
