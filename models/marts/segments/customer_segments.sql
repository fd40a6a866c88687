{#- Customer KPIs by segment for BI, as one long table: one row per segment dimension and
    value. One rule, one place: every dimension goes through crm_segment_rollup, so the
    measures are defined once and a new dimension is one line below. Money, averages and NPS
    are computed on external customers (is_kpi_customer); prospects and internal contacts
    are counted in contacts, prospects and internal_contacts only. -#}
{%- set dimensions = [
    {'name': 'all', 'expr': "'all'"},
    {'name': 'lifecycle_stage', 'expr': 'lifecycle_stage'},
    {'name': 'activity_status', 'expr': 'activity_status'},
    {'name': 'relationship_rung', 'expr': 'relationship_rung', 'order_expr': 'relationship_rung_order'},
    {'name': 'value_tier', 'expr': 'value_tier'},
    {'name': 'strategy', 'expr': 'strategy'},
    {'name': 'customer_type', 'flags': {
        'loyal': 'is_loyal',
        'discount': 'is_discount',
        'impulsive': 'is_impulsive',
        'need_oriented': 'is_need_oriented',
        'wanderer': 'is_wanderer',
        'high_volume': 'is_high_volume',
        'high_future_value': 'is_high_future_value',
        'benchmark': 'is_benchmark',
        'door_opener': 'is_door_opener',
        'inspiring': 'is_inspiring',
    }},
    {'name': 'orientation', 'expr': 'orientation'},
    {'name': 'service_behaviour', 'flags': {
        'curious': 'is_curious',
        'distrustful': 'is_distrustful',
        'paranoid': 'is_paranoid',
        'aggressive': 'is_aggressive',
        'finance_attentive': 'is_finance_attentive',
        'hurried': 'is_hurried',
    }},
    {'name': 'rfm_segment', 'expr': 'rfm_segment'},
    {'name': 'age_band', 'expr': 'age_band'},
    {'name': 'gender', 'expr': 'gender'},
    {'name': 'income_band', 'expr': 'income_band'},
    {'name': 'country', 'expr': 'country_code'},
    {'name': 'macro_region', 'expr': 'macro_region'},
    {'name': 'acquisition_channel', 'expr': 'acquisition_channel'},
    {'name': 'cohort_month', 'expr': 'substring(cast(first_order_date as ' ~ dbt.type_string() ~ '), 1, 7)'},
] -%}

with customers as (

    select * from {{ ref('customers') }}

),

evaluation as (

    select max(as_of_date) as as_of_date from customers

),

{{ crm_segment_rollup('customers', dimensions) }},

final as (

    select
        evaluation.as_of_date,
        segments.*
    from segments
    cross join evaluation

)

{{ crm_cast_to_contract('final') }}
