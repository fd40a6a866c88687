{#- Predicted future value of every contact known at the evaluation date (domain
    section 6): P(alive) under BG/NBD and MBG/NBD, expected purchases in the next
    clv_horizon_months, Gamma-Gamma expected spend per purchase and the predicted lifetime
    value (expected purchases month by month x expected spend, discounted monthly at
    clv_monthly_discount_rate). The headline expected_purchases and predicted_clv come from
    the purchase model of var clv_purchase_model. When a model could not be fitted its
    predictions are null and value_model_status / value_model_reason say why. -#}
{%- set headline_model = value_model_settings().purchase_model -%}

with settings as (

    select * from {{ ref('int_value_model_settings') }}

),

contacts as (

    select contacts.contact_id
    from {{ ref('stg_crm__contacts') }} as contacts
    cross join settings
    where {{ crm_contact_exists_on('contacts.created_at', 'settings.as_of_date') }}

),

inputs as (

    select * from {{ ref('int_customers_value_model_inputs') }}

),

score_grid as (

    select * from {{ ref('int_value_model_score_grid') }}

),

parameters as (

    select * from {{ ref('int_value_model_parameters') }}

),

-- The three models side by side: one row.
model_availability as (

    select
        {%- for model in value_model_purchase_models() + ['gamma_gamma'] %}
        max(case when model = '{{ model }}' and is_usable then 1 else 0 end) = 1 as is_{{ model }}_usable,
        max(case when model = '{{ model }}' then unusable_reason end) as {{ model }}_unusable_reason,
        {%- endfor %}
        max(case when model = 'gamma_gamma' then param_p end) as spend_p,
        max(case when model = 'gamma_gamma' then param_q end) as spend_q,
        max(case when model = 'gamma_gamma' then param_gamma end) as spend_gamma
    from parameters

),

predicted as (

    select
        contacts.contact_id,
        settings.as_of_date,
        settings.clv_horizon_months,
        inputs.contact_id is not null as has_purchases,
        inputs.repeat_purchase_count,
        inputs.weeks_first_to_last_purchase,
        inputs.weeks_first_purchase_to_as_of,
        inputs.mean_repeat_purchase_value,
        {%- for model in value_model_purchase_models() %}
        score_grid.p_alive_{{ model }},
        score_grid.expected_purchases_{{ model }},
        score_grid.discounted_expected_purchases_{{ model }},
        {%- endfor %}
        case
            when model_availability.is_gamma_gamma_usable and inputs.contact_id is not null
                then {{ value_model_expected_spend(
                    'model_availability.spend_p', 'model_availability.spend_q', 'model_availability.spend_gamma',
                    'inputs.repeat_purchase_count', 'inputs.mean_repeat_purchase_value'
                ) }}
        end as expected_average_spend,
        model_availability.*
    from contacts
    cross join settings
    cross join model_availability
    left join inputs
        on contacts.contact_id = inputs.contact_id
    left join score_grid
        on
            inputs.repeat_purchase_count = score_grid.repeat_purchase_count
            and inputs.days_first_to_last_purchase = score_grid.days_first_to_last_purchase
            and inputs.days_first_purchase_to_as_of = score_grid.days_first_purchase_to_as_of

),

valued as (

    select
        *,
        {%- for model in value_model_purchase_models() %}
        expected_average_spend * discounted_expected_purchases_{{ model }} as predicted_clv_{{ model }},
        {%- endfor %}
        case
            when not has_purchases then 'no_purchases'
            when not is_{{ headline_model }}_usable then 'not_fitted'
            when not is_gamma_gamma_usable then 'spend_not_fitted'
            else 'ok'
        end as value_model_status
    from predicted

)

select
    contact_id,
    as_of_date,
    repeat_purchase_count,
    weeks_first_to_last_purchase,
    weeks_first_purchase_to_as_of,
    mean_repeat_purchase_value,
    p_alive_bgnbd,
    p_alive_mbgnbd,
    expected_purchases_bgnbd,
    expected_purchases_mbgnbd,
    expected_average_spend,
    predicted_clv_bgnbd,
    predicted_clv_mbgnbd,
    cast('{{ headline_model }}' as {{ dbt.type_string() }}) as value_model,
    clv_horizon_months,
    expected_purchases_{{ headline_model }} as expected_purchases,
    predicted_clv_{{ headline_model }} as predicted_clv,
    value_model_status,
    case value_model_status
        when 'no_purchases' then 'no paid purchase up to the evaluation date: nothing to predict'
        when 'not_fitted' then '{{ headline_model }} not fitted: ' || {{ headline_model }}_unusable_reason
        when 'spend_not_fitted'
            then 'gamma_gamma not fitted: ' || gamma_gamma_unusable_reason
                || '; P(alive) and expected purchases only'
        else
            '{{ headline_model }}: P(alive) ' || {{ crm_fmt('p_alive_' ~ headline_model, 2) }}
            || ', ' || {{ crm_fmt('expected_purchases_' ~ headline_model, 2) }}
            || ' purchases expected in ' || {{ crm_fmt('clv_horizon_months') }}
            || ' months; gamma_gamma: ' || {{ crm_fmt('expected_average_spend', 2) }} || ' per purchase'
    end
    {%- for model in value_model_purchase_models() if model != headline_model %}
    || case
        when not has_purchases or is_{{ model }}_usable then ''
        when {{ model }}_unusable_reason = {{ headline_model }}_unusable_reason then '; {{ model }} not fitted either'
        else '; {{ model }} not fitted: ' || {{ model }}_unusable_reason
    end
    {%- endfor %} as value_model_reason
from valued
