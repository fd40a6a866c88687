{#- The value-model vars, checked once so a typo fails the build with a message instead of
    producing nonsense predictions. Returns a dict; int_value_model_settings publishes it as
    a one-row table that the fitting script and the scoring models both read. -#}
{% macro value_model_settings() %}
    {%- set horizon_months = var('clv_horizon_months', 12) | int -%}
    {%- set monthly_discount_rate = var('clv_monthly_discount_rate', 0.01) | float -%}
    {%- set min_repeat_buyers = var('clv_min_repeat_buyers', 10) | int -%}
    {%- set penalizer = var('clv_penalizer', 0.0) | float -%}
    {%- set purchase_model = var('clv_purchase_model', 'bgnbd') | string -%}
    {%- set holdout_date = var('clv_holdout_date', none) -%}
    {%- set max_correlation = var('clv_max_frequency_spend_correlation', 0.3) | float -%}
    {%- set series_tolerance = var('clv_series_tolerance', 1.0e-12) | float -%}
    {%- set problems = [] -%}
    {%- if horizon_months < 1 -%}
        {%- do problems.append('clv_horizon_months must be a whole number of months >= 1') -%}
    {%- endif -%}
    {%- if monthly_discount_rate <= -1 -%}
        {%- do problems.append('clv_monthly_discount_rate must be > -1') -%}
    {%- endif -%}
    {%- if min_repeat_buyers < 1 -%}
        {%- do problems.append('clv_min_repeat_buyers must be >= 1') -%}
    {%- endif -%}
    {%- if penalizer < 0 -%}
        {%- do problems.append('clv_penalizer must be >= 0') -%}
    {%- endif -%}
    {%- if purchase_model not in ['bgnbd', 'mbgnbd'] -%}
        {%- do problems.append("clv_purchase_model must be 'bgnbd' or 'mbgnbd'") -%}
    {%- endif -%}
    {%- if holdout_date and not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', holdout_date | string) -%}
        {%- do problems.append("clv_holdout_date must be null or 'YYYY-MM-DD'") -%}
    {%- endif -%}
    {%- if not (0 <= max_correlation <= 1) -%}
        {%- do problems.append('clv_max_frequency_spend_correlation must be in [0, 1]') -%}
    {%- endif -%}
    {%- if not (0 < series_tolerance <= 0.001) -%}
        {%- do problems.append('clv_series_tolerance must be in (0, 0.001]') -%}
    {%- endif -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error('value model settings: ' ~ problems | join('; ')) }}
    {%- endif -%}
    {{ return({
        'horizon_months': horizon_months,
        'monthly_discount_rate': monthly_discount_rate,
        'min_repeat_buyers': min_repeat_buyers,
        'penalizer': penalizer,
        'purchase_model': purchase_model,
        'holdout_date': (holdout_date | string) if holdout_date else none,
        'max_frequency_spend_correlation': max_correlation,
        'series_tolerance': series_tolerance,
    }) }}
{% endmacro %}

{#- The models the value model fits, and the human names used in reasons. -#}
{% macro value_model_purchase_models() %}
    {{ return(['bgnbd', 'mbgnbd']) }}
{% endmacro %}

{#- True when the relation exists in the warehouse (checked at run time; false while dbt
    parses). Lets a model read a table that a script outside dbt may not have written yet. -#}
{% macro value_model_relation_exists(relation) %}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) -%}
    {{ return(found is not none) }}
{% endmacro %}

{#- The columns of the parameters table scripts/fit_value_model.py writes (its
    PARAMETER_COLUMNS), as (name, logical type); used to stand in an empty table for it. -#}
{% macro value_model_parameter_columns() %}
    {{ return([
        ('model', 'string'), ('fit_status', 'string'), ('fit_reason', 'string'),
        ('parameters', 'string'),
        ('param_r', 'double'), ('param_alpha', 'double'), ('param_a', 'double'),
        ('param_b', 'double'), ('param_p', 'double'), ('param_q', 'double'),
        ('param_gamma', 'double'),
        ('log_likelihood', 'double'), ('customers_used', 'bigint'), ('repeat_buyers', 'bigint'),
        ('converged', 'boolean'), ('optimizer_message', 'string'), ('penalizer', 'double'),
        ('min_repeat_buyers', 'bigint'), ('series_is_contracting', 'boolean'),
        ('series_terms', 'bigint'), ('series_terms_max_weeks', 'double'),
        ('as_of_date', 'date'), ('fitted_at', 'timestamp'),
    ]) }}
{% endmacro %}

{#- A typed, empty stand-in for the parameters table, for builds before the first fit. -#}
{% macro value_model_no_fitted_parameters() -%}
    select
    {%- for name, logical_type in value_model_parameter_columns() %}
        cast(null as {{ value_model_sql_type(logical_type) }}) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ ref('int_value_model_settings') }}
    where 1 = 0
{%- endmacro %}
