{#- Cast text to a type, giving null instead of an error when the text does not fit.
    DuckDB and Spark have try_cast; PostgreSQL gets small functions from
    crm_create_engine_helpers (run on-run-start). -#}
{% macro crm_try_cast(expr, logical_type) -%}
    {{ return(adapter.dispatch('crm_try_cast', 'crm_warehouse')(expr, logical_type)) }}
{%- endmacro %}

{% macro default__crm_try_cast(expr, logical_type) -%}
    try_cast({{ expr }} as {{ crm_sql_type(logical_type) }})
{%- endmacro %}

{% macro postgres__crm_try_cast(expr, logical_type) -%}
    {{ target.schema }}_helpers.crm_try_{{ logical_type }}({{ expr }})
{%- endmacro %}

{#- The SQL type a contract type is staged as. -#}
{% macro crm_sql_type(logical_type) -%}
    {%- if logical_type == 'integer' -%} {{ dbt.type_bigint() }}
    {%- elif logical_type == 'decimal' -%} decimal(18, 4)
    {%- elif logical_type == 'date' -%} date
    {%- elif logical_type == 'timestamp' -%} {{ dbt.type_timestamp() }}
    {%- elif logical_type == 'boolean' -%} boolean
    {%- else -%} {{ dbt.type_string() }}
    {%- endif -%}
{%- endmacro %}

{#- Functions PostgreSQL needs for crm_try_cast. Text is pre-checked with a pattern so the
    exception handler (a costly sub-transaction) runs only for text that looks right but
    is not, such as 2026-02-31. -#}
{% macro crm_create_engine_helpers() %}
    {{ return(adapter.dispatch('crm_create_engine_helpers', 'crm_warehouse')()) }}
{% endmacro %}

{% macro default__crm_create_engine_helpers() %}
    select 1
{% endmacro %}

{% macro spark__crm_create_engine_helpers() %}
    {#- Spark reads the loader's Parquet folders as the raw tables. -#}
    {%- set raw_dir = env_var('CRM_SPARK_RAW_DIR', '') -%}
    {%- if execute and not raw_dir.startswith('/') -%}
        {{ exceptions.raise_compiler_error("Set CRM_SPARK_RAW_DIR to the absolute folder the loader wrote (scripts/run_pipeline.py sets it for you).") }}
    {%- endif -%}
    {%- set raw_schema = var('crm_raw_schema', 'raw') -%}
    {%- set statements = ["create schema if not exists " ~ raw_schema] -%}
    {%- for table in crm_entities().keys() | list + ['load_manifest'] -%}
        {%- do statements.append("create table if not exists " ~ raw_schema ~ "." ~ table
            ~ " using parquet location '" ~ raw_dir ~ "/" ~ table ~ "'") -%}
        {%- do statements.append("refresh table " ~ raw_schema ~ "." ~ table) -%}
    {%- endfor -%}
    {%- if execute -%}
        {%- for statement in statements -%}
            {%- do run_query(statement) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{% endmacro %}

{% macro postgres__crm_create_engine_helpers() %}
    {%- set helpers = target.schema ~ '_helpers' -%}
    create schema if not exists {{ helpers }};
    {%- set patterns = {
        'integer': ['bigint', '^\\s*[-+]?[0-9]+\\s*$'],
        'decimal': ['numeric(18, 4)', '^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?\\s*$'],
        'date': ['date', '^\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\\s*$'],
        'timestamp': ['timestamp', '^\\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?)?\\s*$'],
        'boolean': ['boolean', '^\\s*(true|false|t|f|1|0|yes|no|y|n)\\s*$'],
        'string': ['text', '.*'],
    } -%}
    {%- for name, spec in patterns.items() %}
    create or replace function {{ helpers }}.crm_try_{{ name }}(value text) returns {{ spec[0] }}
    language plpgsql immutable parallel safe as $fn$
    begin
        if value is null or value !~* '{{ spec[1] }}' then
            return null;
        end if;
        return value::{{ spec[0] }};
    exception when others then
        return null;
    end;
    $fn$;
    {%- endfor %}
{% endmacro %}
