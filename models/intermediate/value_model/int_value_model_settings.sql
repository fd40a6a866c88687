{#- The value-model settings of this build in one row: the checked vars and the evaluation
    date. scripts/fit_value_model.py reads them from here, and the scoring models use the
    same row, so the fit and the scores always agree on the settings. -#}
{%- set settings = value_model_settings() -%}
{%- set holdout_date = "cast('" ~ settings.holdout_date ~ "' as date)" if settings.holdout_date else 'cast(null as date)' -%}

with as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

settings as (

    select
        as_of_date,
        cast({{ settings.horizon_months }} as {{ dbt.type_bigint() }}) as clv_horizon_months,
        {{ value_model_as_double(settings.monthly_discount_rate) }} as clv_monthly_discount_rate,
        cast({{ settings.min_repeat_buyers }} as {{ dbt.type_bigint() }}) as clv_min_repeat_buyers,
        {{ value_model_as_double(settings.penalizer) }} as clv_penalizer,
        cast('{{ settings.purchase_model }}' as {{ dbt.type_string() }}) as clv_purchase_model,
        {{ holdout_date }} as clv_holdout_date,
        {{ value_model_as_double(settings.max_frequency_spend_correlation) }}
            as clv_max_frequency_spend_correlation,
        {{ value_model_as_double(settings.series_tolerance) }} as clv_series_tolerance,
        -- The models count time in weeks (as the published CDNOW results do); a month is
        -- 52 / 12 weeks, the convention of scripts/clv (WEEKS_PER_MONTH).
        {{ value_model_as_double(52) }} / 12 as weeks_per_month
    from as_of

)

select
    as_of_date,
    clv_horizon_months,
    clv_monthly_discount_rate,
    clv_min_repeat_buyers,
    clv_penalizer,
    clv_purchase_model,
    clv_holdout_date,
    clv_max_frequency_spend_correlation,
    clv_series_tolerance,
    weeks_per_month,
    clv_horizon_months * weeks_per_month as horizon_weeks,
    -- Holdout length in weeks; null without a holdout date or when it is not after as_of_date.
    case
        when clv_holdout_date > as_of_date
            then {{ value_model_as_double(crm_days_between('as_of_date', 'clv_holdout_date')) }} / 7
    end as holdout_weeks
from settings
