{#- ISO day of week, 1 = Monday ... 7 = Sunday, on every engine. -#}
{% macro crm_iso_day_of_week(ts) -%}
    {{ return(adapter.dispatch('crm_iso_day_of_week', 'crm_warehouse')(ts)) }}
{%- endmacro %}

{% macro default__crm_iso_day_of_week(ts) -%}
    extract(isodow from {{ ts }})
{%- endmacro %}

{% macro spark__crm_iso_day_of_week(ts) -%}
    extract(dayofweek_iso from {{ ts }})
{%- endmacro %}

{#- Whole days from start to end. -#}
{% macro crm_days_between(start_expr, end_expr) -%}
    {{ dbt.datediff(start_expr, end_expr, 'day') }}
{%- endmacro %}

{#- Median of a numeric column (an aggregate). -#}
{% macro crm_median(expr) -%}
    {{ return(adapter.dispatch('crm_median', 'crm_warehouse')(expr)) }}
{%- endmacro %}

{% macro default__crm_median(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}

{% macro spark__crm_median(expr) -%}
    percentile({{ expr }}, 0.5)
{%- endmacro %}
