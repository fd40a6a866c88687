{#- The state of every contact at each refresh, appended for its as_of_date: the history
    transitions are read from. Re-running a date replaces that date (DuckDB and PostgreSQL
    delete+insert on as_of_date; Spark overwrites the as_of_date partition of a plain
    Parquet table, which has no merge). full_refresh=false: a --full-refresh never drops the
    history, which cannot be rebuilt from the sources. -#}
{%- if target.type == 'spark' %}
{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite',
    partition_by=['as_of_date'],
    file_format='parquet',
    on_schema_change='append_new_columns',
    full_refresh=false
) }}
{%- else %}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
    full_refresh=false
) }}
{%- endif %}

with customers as (

    select * from {{ ref('customers') }}

),

state as (

    select
        as_of_date,
        contact_id,
        is_kpi_customer,
        is_prospect,
        is_internal,
        lifecycle_stage,
        activity_status,
        relationship_rung,
        relationship_rung_order,
        value_tier,
        strategy,
        strategy_rule,
        rfm_segment,
        paid_orders,
        net_revenue,
        profit,
        predicted_clv,
        '{{ invocation_id }}' as dbt_invocation_id
    from customers

)

{{ crm_cast_to_contract('state') }}
