{#- The fitted parameters of the three models (bgnbd, mbgnbd, gamma_gamma), one row each,
    with whether the scoring may use them and, if not, why. The table comes from
    scripts/fit_value_model.py; when it is missing (dbt run without the fit step) every
    model is reported as not fitted rather than failing the build. -#}
{%- set fitted_parameters = source('value_model', 'value_model_parameters') -%}
{%- set has_fitted_parameters = value_model_relation_exists(fitted_parameters) -%}
{%- if execute and not has_fitted_parameters -%}
{%- do log("value model: " ~ fitted_parameters ~ " does not exist yet; predictions stay null until scripts/fit_value_model.py runs (make run does)", info=True) -%}
{%- endif -%}

with settings as (

    select * from {{ ref('int_value_model_settings') }}

),

value_models as (

    -- `model` is the column name of the parameters table (and of the papers' tables).
    select 'bgnbd' as model  -- noqa: RF04
    union all
    select 'mbgnbd' as model  -- noqa: RF04
    union all
    select 'gamma_gamma' as model  -- noqa: RF04

),

fitted as (

    {{ 'select * from ' ~ fitted_parameters if has_fitted_parameters else value_model_no_fitted_parameters() }}

),

checked as (

    select
        value_models.model,
        fitted.fit_status,
        fitted.fit_reason,
        fitted.parameters,
        fitted.param_r,
        fitted.param_alpha,
        fitted.param_a,
        fitted.param_b,
        fitted.param_p,
        fitted.param_q,
        fitted.param_gamma,
        fitted.log_likelihood,
        fitted.customers_used,
        fitted.repeat_buyers,
        fitted.converged,
        fitted.optimizer_message,
        fitted.penalizer,
        fitted.min_repeat_buyers,
        fitted.series_is_contracting,
        fitted.series_terms,
        fitted.series_terms_max_weeks,
        fitted.as_of_date as fitted_as_of_date,
        fitted.fitted_at,
        case
            when fitted.model is null
                then 'no fitted parameters: run scripts/fit_value_model.py (make run does, between its two dbt steps)'
            when fitted.fit_status <> 'fitted'
                then coalesce(fitted.fit_reason, 'not fitted')
            when fitted.as_of_date <> settings.as_of_date
                then 'parameters were fitted as of ' || cast(fitted.as_of_date as {{ dbt.type_string() }})
                    || ' but this build is as of ' || cast(settings.as_of_date as {{ dbt.type_string() }})
                    || ': run scripts/fit_value_model.py again'
            -- A non-contracting series needs the number of terms the fit step proved for
            -- the longest horizon scored; a longer horizon needs a new proof.
            when value_models.model <> 'gamma_gamma'
                and not fitted.series_is_contracting
                and fitted.series_terms_max_weeks < greatest(settings.horizon_weeks, coalesce(settings.holdout_weeks, 0))
                then 'the 2F1 series terms were proven for horizons up to '
                    || {{ crm_fmt('fitted.series_terms_max_weeks', 1) }} || ' weeks but this build scores '
                    || {{ crm_fmt('greatest(settings.horizon_weeks, coalesce(settings.holdout_weeks, 0))', 1) }}
                    || ': run scripts/fit_value_model.py again'
        end as unusable_reason
    from value_models
    cross join settings
    left join fitted
        on value_models.model = fitted.model

)

select
    *,
    unusable_reason is null as is_usable
from checked
