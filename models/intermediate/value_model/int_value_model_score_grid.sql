{#- Scores every distinct purchase history (x, t_x, T) of int_customers_value_model_inputs
    once, under both purchase models: P(alive), expected purchases in the next
    clv_horizon_months, the same discounted month by month (times the expected spend, this
    is the predicted lifetime value) and, with clv_holdout_date, expected purchases in the
    holdout. Customers with the same history share its scores, so the cost grows with the
    number of distinct histories (bounded by the days of history), not of customers.

    The conditional expectation (FHL 2005 eq. 10; Batislam et al. 2007 eq. 9) is

        E(t) = (C0 + x) / (a - 1) * [1 - (1 - z)^(a - 1) F(x, z)] * P(alive),   z = t / (alpha + T + t)

    with F the Euler-transformed Gauss 2F1 summed as its power series sum_n c_n(x) z^n.
    The coefficients c_n(x) (int_value_model_series_coefficients) depend on x alone, the
    power weights W_n(T) = sum over horizons of w_t (1 - z_t)^(a - 1) z_t^n
    (int_value_model_power_weights) on T alone, so the weighted sum over the horizons of
    the bracket is (sum of w_t) - sum_n c_n(x) W_n(T): one join, whatever the number of
    months. docs/value_model.md derives it. -#}

with settings as (

    select * from {{ ref('int_value_model_settings') }}

),

histories as (

    select distinct
        repeat_purchase_count as x,
        days_first_to_last_purchase as t_x_days,
        days_first_purchase_to_as_of as age_days
    from {{ ref('int_customers_value_model_inputs') }}

),

frequency_ages as (

    select distinct
        x,
        age_days
    from histories

),

variants as (

    select * from {{ ref('int_value_model_purchase_variants') }}

),

-- The sum of each measure's horizon weights (the "1" of the bracket, weighted): 1 at the
-- horizon; the discount weights telescope to 1 / (1 + d); 1 for the holdout, if any.
weight_totals as (

    select
        {{ value_model_as_double(1) }} as horizon_weight_total,
        1 / (1 + clv_monthly_discount_rate) as discounted_weight_total,
        case when holdout_weeks is not null then {{ value_model_as_double(1) }} end as holdout_weight_total
    from settings

),

series_sums as (

    select
        power_weights.model,
        power_weights.a_offset_sign,
        frequency_ages.x,
        frequency_ages.age_days,
        sum(coefficients.coefficient * power_weights.horizon_power_weight) as horizon_series_sum,
        sum(coefficients.coefficient * power_weights.discounted_power_weight) as discounted_series_sum,
        sum(coefficients.coefficient * power_weights.holdout_power_weight) as holdout_series_sum
    from frequency_ages
    inner join {{ ref('int_value_model_power_weights') }} as power_weights
        on frequency_ages.age_days = power_weights.age_days
    inner join {{ ref('int_value_model_series_coefficients') }} as coefficients
        on
            power_weights.model = coefficients.model
            and power_weights.a_offset_sign = coefficients.a_offset_sign
            and power_weights.term_number = coefficients.term_number
            and frequency_ages.x = coefficients.repeat_purchase_count
    group by power_weights.model, power_weights.a_offset_sign, frequency_ages.x, frequency_ages.age_days

),

-- The factor (C0 + x) / (a - 1) * P(alive) of each a-variant, times its weight.
variant_expectations as (

    select
        variants.model,
        histories.x,
        histories.t_x_days,
        histories.age_days,
        variants.variant_weight
        * {{ value_model_probability_alive(
            'variants', 'histories.x', value_model_as_double('histories.t_x_days') ~ ' / 7',
            value_model_as_double('histories.age_days') ~ ' / 7'
        ) }}
        * (variants.series_denominator_without_repeats + histories.x) / (variants.a - 1) as expectation_scale,
        series_sums.horizon_series_sum,
        series_sums.discounted_series_sum,
        series_sums.holdout_series_sum
    from series_sums
    inner join variants
        on
            series_sums.model = variants.model
            and series_sums.a_offset_sign = variants.a_offset_sign
    inner join histories
        on
            series_sums.x = histories.x
            and series_sums.age_days = histories.age_days

),

expectations as (

    select
        variant_expectations.model,
        variant_expectations.x,
        variant_expectations.t_x_days,
        variant_expectations.age_days,
        sum(
            variant_expectations.expectation_scale
            * (weight_totals.horizon_weight_total - variant_expectations.horizon_series_sum)
        ) as expected_purchases,
        sum(
            variant_expectations.expectation_scale
            * (weight_totals.discounted_weight_total - variant_expectations.discounted_series_sum)
        ) as discounted_expected_purchases,
        sum(
            variant_expectations.expectation_scale
            * (weight_totals.holdout_weight_total - variant_expectations.holdout_series_sum)
        ) as holdout_expected_purchases
    from variant_expectations
    cross join weight_totals
    group by
        variant_expectations.model,
        variant_expectations.x,
        variant_expectations.t_x_days,
        variant_expectations.age_days

),

-- P(alive) itself is reported at the fitted a: it has no 0/0 to average around.
fitted_models as (

    select distinct
        model,
        r,
        alpha,
        fitted_a as a,
        b,
        extra_dropout_opportunity
    from variants

),

model_scores as (

    select
        expectations.model,
        expectations.x,
        expectations.t_x_days,
        expectations.age_days,
        {{ value_model_probability_alive(
            'fitted_models', 'expectations.x', value_model_as_double('expectations.t_x_days') ~ ' / 7',
            value_model_as_double('expectations.age_days') ~ ' / 7'
        ) }} as p_alive,
        expectations.expected_purchases,
        expectations.discounted_expected_purchases,
        expectations.holdout_expected_purchases
    from expectations
    inner join fitted_models
        on expectations.model = fitted_models.model

)

select
    histories.x as repeat_purchase_count,
    histories.t_x_days as days_first_to_last_purchase,
    histories.age_days as days_first_purchase_to_as_of,
    bgnbd.p_alive as p_alive_bgnbd,
    bgnbd.expected_purchases as expected_purchases_bgnbd,
    bgnbd.discounted_expected_purchases as discounted_expected_purchases_bgnbd,
    bgnbd.holdout_expected_purchases as holdout_expected_purchases_bgnbd,
    mbgnbd.p_alive as p_alive_mbgnbd,
    mbgnbd.expected_purchases as expected_purchases_mbgnbd,
    mbgnbd.discounted_expected_purchases as discounted_expected_purchases_mbgnbd,
    mbgnbd.holdout_expected_purchases as holdout_expected_purchases_mbgnbd
from histories
left join model_scores as bgnbd
    on
        bgnbd.model = 'bgnbd'
        and histories.x = bgnbd.x
        and histories.t_x_days = bgnbd.t_x_days
        and histories.age_days = bgnbd.age_days
left join model_scores as mbgnbd
    on
        mbgnbd.model = 'mbgnbd'
        and histories.x = mbgnbd.x
        and histories.t_x_days = mbgnbd.t_x_days
        and histories.age_days = mbgnbd.age_days
