{#- The part of the conditional expectation's 2F1 series that depends on the customer's
    age T and the horizon t but not on x, summed over the horizons each measure needs:

        W_n(T) = sum over horizons t of w_t (1 - z_t)^(a - 1) z_t^n,    z_t = t / (alpha + T + t)

    per purchase model variant, customer age T (days, as in the inputs) and series term n.
    int_value_model_score_grid multiplies it by the coefficients c_n(x). The horizons are
    the end of clv_horizon_months (expected purchases), each month up to it with its
    discount weight (the predicted lifetime value), and the holdout (diagnostics).

    Terms per (model, T, horizon): a contracting series (checked by the fit step) has a
    truncation error below z^N / (1 - z), which gives N from z alone (n_terms_needed in
    scripts/clv); otherwise the fit step proved a number of terms that suffices for every
    customer and horizon (scoring_series_terms). docs/value_model.md has more. -#}

with settings as (

    select * from {{ ref('int_value_model_settings') }}

),

variants as (

    select * from {{ ref('int_value_model_purchase_variants') }}

),

ages as (

    select distinct
        days_first_purchase_to_as_of as age_days,
        {{ value_model_as_double('days_first_purchase_to_as_of') }} / 7 as age_weeks
    from {{ ref('int_customers_value_model_inputs') }}

),

months as (

    select {{ value_model_integer_series(1, 'clv_horizon_months') }} as month_number
    from settings

),

-- Every horizon t (weeks) with its weight in each measure:
--   expected purchases   E at the end of the horizon H
--   discounted           sum over months m of (1+d)^-m (E_m - E_(m-1)) = sum of w_m E_m with
--                        w_m = (1+d)^-m - (1+d)^-(m+1) for m < H and w_H = (1+d)^-H
--   holdout              E over the holdout period
horizons as (

    select
        months.month_number * settings.weeks_per_month as horizon_weeks,
        case when months.month_number = settings.clv_horizon_months then 1 else 0 end as horizon_weight,
        case
            when months.month_number < settings.clv_horizon_months
                then power(1 + settings.clv_monthly_discount_rate, -months.month_number)
                    - power(1 + settings.clv_monthly_discount_rate, -(months.month_number + 1))
            else power(1 + settings.clv_monthly_discount_rate, -months.month_number)
        end as discounted_weight,
        0 as holdout_weight
    from months
    cross join settings

    union all

    select
        holdout_weeks as horizon_weeks,
        0 as horizon_weight,
        0 as discounted_weight,
        1 as holdout_weight
    from settings
    where holdout_weeks is not null

),

-- z in log form, exact for tiny and for large horizons: ln z = ln t - ln(alpha + T + t),
-- ln(1 - z) = ln(alpha + T) - ln(alpha + T + t).
age_horizons as (

    select
        variants.model,
        variants.a_offset_sign,
        variants.a,
        variants.series_is_contracting,
        variants.proven_series_terms,
        ages.age_days,
        horizons.horizon_weight,
        horizons.discounted_weight,
        horizons.holdout_weight,
        settings.clv_series_tolerance,
        ln(horizons.horizon_weeks) - ln(variants.alpha + ages.age_weeks + horizons.horizon_weeks) as ln_z,
        ln(variants.alpha + ages.age_weeks)
        - ln(variants.alpha + ages.age_weeks + horizons.horizon_weeks) as ln_one_minus_z
    from variants
    cross join ages
    cross join horizons
    cross join settings

),

-- Each horizon's series is truncated at its own number of terms (a short horizon, small
-- z, needs few).
age_horizon_terms as (

    select
        model,
        a_offset_sign,
        age_days,
        a,
        ln_z,
        ln_one_minus_z,
        horizon_weight,
        discounted_weight,
        holdout_weight,
        {{ value_model_integer_series(
            0,
            'case when series_is_contracting then '
            ~ value_model_series_terms_needed('ln_z', 'ln_one_minus_z', 'clv_series_tolerance')
            ~ ' else proven_series_terms end - 1'
        ) }} as term_number
    from age_horizons

),

power_terms as (

    select
        model,
        a_offset_sign,
        age_days,
        term_number,
        horizon_weight,
        discounted_weight,
        holdout_weight,
        {{ value_model_exp_or_zero('term_number * ln_z + (a - 1) * ln_one_minus_z') }} as power_term
    from age_horizon_terms

)

select
    model,
    a_offset_sign,
    age_days,
    term_number,
    sum(horizon_weight * power_term) as horizon_power_weight,
    sum(discounted_weight * power_term) as discounted_power_weight,
    sum(holdout_weight * power_term) as holdout_power_weight
from power_terms
group by model, a_offset_sign, age_days, term_number
