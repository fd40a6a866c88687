{#- How far to trust the predicted lifetime value: one row per model (bgnbd, mbgnbd,
    gamma_gamma) with its parameters and log-likelihood, whether it could be fitted, the
    correlation between purchase frequency and spend that Gamma-Gamma assumes to be weak,
    and, when var clv_holdout_date is set, predicted against actual repeat purchases in the
    holdout period (as_of_date, clv_holdout_date]. docs/value_model.md explains how to read it. -#}

with settings as (

    select * from {{ ref('int_value_model_settings') }}

),

parameters as (

    select * from {{ ref('int_value_model_parameters') }}

),

-- The customers the parameters were fitted on.
fit_population as (

    select *
    from {{ ref('int_customers_value_model_inputs') }}
    where is_used_for_fitting

),

predictions as (

    select * from {{ ref('int_customers_value_predictions') }}

),

score_grid as (

    select * from {{ ref('int_value_model_score_grid') }}

),

-- Gamma-Gamma assumes a customer's spend per purchase is independent of how often they
-- buy; measured on the repeat buyers it is fitted on.
frequency_and_spend as (

    select
        case
            when stddev_samp(repeat_purchase_count) > 0 and stddev_samp(mean_repeat_purchase_value) > 0
                then corr(repeat_purchase_count, mean_repeat_purchase_value)
        end as frequency_spend_correlation
    from fit_population
    where repeat_purchase_count > 0 and mean_repeat_purchase_value > 0

),

prediction_summary as (

    select
        {%- for model in value_model_purchase_models() %}
        avg(p_alive_{{ model }}) as mean_p_alive_{{ model }},
        sum(expected_purchases_{{ model }}) as expected_purchases_total_{{ model }},
        sum(predicted_clv_{{ model }}) as predicted_clv_total_{{ model }},
        {%- endfor %}
        avg(expected_average_spend) as mean_expected_average_spend
    from predictions

),

-- Paid purchase days after the evaluation date, up to the holdout date (same-day orders
-- merged, as in the calibration data).
holdout_purchase_days as (

    select
        orders.contact_id,
        count(distinct orders.ordered_on) as holdout_purchases
    from {{ ref('stg_crm__orders') }} as orders
    cross join settings
    where
        {{ crm_is_paid_status('orders.status') }}
        and orders.ordered_on > settings.as_of_date
        and orders.ordered_on <= settings.clv_holdout_date
    group by orders.contact_id

),

holdout_comparison as (

    select
        fit_population.contact_id,
        {{ value_model_as_double('coalesce(holdout_purchase_days.holdout_purchases, 0)') }} as actual_purchases,
        score_grid.holdout_expected_purchases_bgnbd,
        score_grid.holdout_expected_purchases_mbgnbd
    from fit_population
    cross join settings
    inner join score_grid
        on
            fit_population.repeat_purchase_count = score_grid.repeat_purchase_count
            and fit_population.days_first_to_last_purchase = score_grid.days_first_to_last_purchase
            and fit_population.days_first_purchase_to_as_of = score_grid.days_first_purchase_to_as_of
    left join holdout_purchase_days
        on fit_population.contact_id = holdout_purchase_days.contact_id
    where settings.holdout_weeks is not null

),

holdout_by_model as (

    {%- for model in value_model_purchase_models() %}
    select
        '{{ model }}' as model,  -- noqa: RF04
        count(*) as holdout_customers,
        sum(actual_purchases) as holdout_actual_purchases,
        sum(holdout_expected_purchases_{{ model }}) as holdout_predicted_purchases,
        avg(abs(holdout_expected_purchases_{{ model }} - actual_purchases)) as holdout_mean_absolute_error,
        case
            when stddev_samp(actual_purchases) > 0 and stddev_samp(holdout_expected_purchases_{{ model }}) > 0
                then corr(holdout_expected_purchases_{{ model }}, actual_purchases)
        end as holdout_correlation
    from holdout_comparison
    where holdout_expected_purchases_{{ model }} is not null
    having count(*) > 0
    {{- "\n\n    union all\n" if not loop.last }}
    {%- endfor %}

),

diagnostics as (

    select
        parameters.model,
        case parameters.model
            when 'bgnbd' then 'BG/NBD purchase and dropout model (Fader, Hardie & Lee 2005)'
            when 'mbgnbd' then 'MBG/NBD purchase and dropout model (Batislam, Denizel & Filiztekin 2007)'
            when 'gamma_gamma' then 'Gamma-Gamma spend model (Fader, Hardie & Lee 2005; Fader & Hardie 2013)'
        end as model_description,
        coalesce(parameters.fit_status, 'not_fitted') as fit_status,
        parameters.is_usable,
        parameters.unusable_reason,
        parameters.parameters,
        parameters.param_r,
        parameters.param_alpha,
        parameters.param_a,
        parameters.param_b,
        parameters.param_p,
        parameters.param_q,
        parameters.param_gamma,
        parameters.log_likelihood,
        parameters.customers_used,
        parameters.repeat_buyers,
        parameters.converged,
        parameters.optimizer_message,
        parameters.penalizer,
        parameters.min_repeat_buyers,
        parameters.fitted_as_of_date,
        parameters.fitted_at,
        settings.as_of_date,
        settings.clv_horizon_months,
        case parameters.model
            {%- for model in value_model_purchase_models() %}
            when '{{ model }}' then prediction_summary.mean_p_alive_{{ model }}
            {%- endfor %}
        end as mean_p_alive,
        case parameters.model
            {%- for model in value_model_purchase_models() %}
            when '{{ model }}' then prediction_summary.expected_purchases_total_{{ model }}
            {%- endfor %}
        end as expected_purchases_total,
        case parameters.model
            {%- for model in value_model_purchase_models() %}
            when '{{ model }}' then prediction_summary.predicted_clv_total_{{ model }}
            {%- endfor %}
        end as predicted_clv_total,
        case
            when parameters.model = 'gamma_gamma' then prediction_summary.mean_expected_average_spend
        end as mean_expected_average_spend,
        case
            when parameters.model = 'gamma_gamma' then frequency_and_spend.frequency_spend_correlation
        end as frequency_spend_correlation,
        case
            when parameters.model <> 'gamma_gamma' then null
            when frequency_and_spend.frequency_spend_correlation is null
                then 'not measurable: needs repeat buyers who differ in both purchase count and spend'
            when abs(frequency_and_spend.frequency_spend_correlation) <= settings.clv_max_frequency_spend_correlation
                then 'weak (|r| = ' || {{ crm_fmt('abs(frequency_and_spend.frequency_spend_correlation)', 2) }}
                    || ' <= ' || {{ crm_fmt('settings.clv_max_frequency_spend_correlation', 2) }}
                    || '): consistent with the Gamma-Gamma independence assumption'
            else
                'strong (|r| = ' || {{ crm_fmt('abs(frequency_and_spend.frequency_spend_correlation)', 2) }}
                || ' > ' || {{ crm_fmt('settings.clv_max_frequency_spend_correlation', 2) }}
                || '): spend depends on purchase frequency, the expected spend may be biased'
        end as frequency_spend_check,
        settings.clv_holdout_date as holdout_end_date,
        settings.holdout_weeks,
        holdout_by_model.holdout_customers,
        holdout_by_model.holdout_actual_purchases,
        holdout_by_model.holdout_predicted_purchases,
        holdout_by_model.holdout_predicted_purchases / nullif(holdout_by_model.holdout_actual_purchases, 0) - 1
            as holdout_relative_error,
        holdout_by_model.holdout_mean_absolute_error,
        holdout_by_model.holdout_correlation
    from parameters
    cross join settings
    cross join prediction_summary
    cross join frequency_and_spend
    left join holdout_by_model
        on parameters.model = holdout_by_model.model

)

{{ crm_cast_to_contract('diagnostics') }}
