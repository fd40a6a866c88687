{#- Numerical building blocks of the value-model scoring, the same on DuckDB, PostgreSQL
    and Spark. The formulas themselves are in value_model_formulas.sql. -#}

{#- Any number or expression as a double. Needed for literals too: Spark reads 0.5 as a
    decimal, and decimal arithmetic rounds to a few digits. -#}
{% macro value_model_as_double(expr) -%}
    cast({{ expr }} as {{ crm_type_double() }})
{%- endmacro %}

{#- One row per whole number first..last (inclusive) for each input row: a set-returning
    expression for the select list, e.g. `select id, <this> as n from t`. last >= first - 1
    is required (Spark's sequence() would count down otherwise). -#}
{% macro value_model_integer_series(first_expr, last_expr) -%}
    {{ return(adapter.dispatch('value_model_integer_series', 'crm_warehouse')(first_expr, last_expr)) }}
{%- endmacro %}

{% macro default__value_model_integer_series(first_expr, last_expr) -%}
    unnest(generate_series({{ first_expr }}, {{ last_expr }}))
{%- endmacro %}

{% macro postgres__value_model_integer_series(first_expr, last_expr) -%}
    generate_series({{ first_expr }}, {{ last_expr }})
{%- endmacro %}

{% macro spark__value_model_integer_series(first_expr, last_expr) -%}
    explode(sequence({{ first_expr }}, {{ last_expr }}))
{%- endmacro %}

{#- Natural logarithm below which a quantity is treated as exactly zero. e^-300 (5e-131) is
    far below any tolerance the scoring keeps, and clamping there keeps every product of two
    such quantities a normal number: PostgreSQL raises an error on float underflow where
    DuckDB and Spark quietly return 0. -#}
{% macro value_model_negligible_log() -%}
    (-300)
{%- endmacro %}

{#- exp(x), or exactly 0 when x is below the negligible level. -#}
{% macro value_model_exp_or_zero(exponent) -%}
    case
        when {{ exponent }} < {{ value_model_negligible_log() }} then {{ value_model_as_double(0) }}
        else exp({{ exponent }})
    end
{%- endmacro %}

{#- 1 / (1 + e^x), clamped so that e^x neither overflows nor underflows on any engine:
    the result is exact to within e^-300 of 0 or 1. -#}
{% macro value_model_one_over_one_plus_exp(exponent) -%}
    1 / (1 + exp(least(greatest({{ exponent }}, {{ value_model_negligible_log() }}), 0 - {{ value_model_negligible_log() }})))
{%- endmacro %}

{#- (-1)^n for a whole number n >= 0. -#}
{% macro value_model_sign_of_power(count_expr) -%}
    case when mod({{ count_expr }}, 2) = 1 then -1 else 1 end
{%- endmacro %}

{#- SQL type of a logical type of the parameters table (value_model_parameter_columns). -#}
{% macro value_model_sql_type(logical_type) -%}
    {%- if logical_type == 'double' -%} {{ crm_type_double() }}
    {%- elif logical_type == 'bigint' -%} {{ dbt.type_bigint() }}
    {%- else -%} {{ crm_sql_type(logical_type) }}
    {%- endif -%}
{%- endmacro %}
