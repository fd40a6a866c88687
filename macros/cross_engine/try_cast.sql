{#- Cast text to a type, giving null instead of an error when the text does not fit.
    The text must first match the contract's pattern for the type (docs/extract_contract.md):
    each engine's own cast is more lenient and differs between engines (DuckDB reads '2.5' as
    the integer 3 and '1_000' as 1000; DuckDB and Spark read '2026-01-01 10:00' as a date),
    and a row must be accepted or rejected alike on every engine. The pattern only screens
    the shape; the cast still refuses what has the shape but not the value (2026-02-31).
    DuckDB and Spark have try_cast; PostgreSQL gets small functions from
    crm_create_engine_helpers (run on-run-start). -#}
{% macro crm_try_cast(expr, logical_type) -%}
    {{ return(adapter.dispatch('crm_try_cast', 'crm_warehouse')(expr, logical_type)) }}
{%- endmacro %}

{% macro default__crm_try_cast(expr, logical_type) -%}
    case
        when {{ crm_matches_pattern(expr, crm_type_pattern(logical_type)) }}
            then try_cast({{ expr }} as {{ crm_sql_type(logical_type) }})
    end
{%- endmacro %}

{% macro postgres__crm_try_cast(expr, logical_type) -%}
    {{ target.schema }}_helpers.crm_try_{{ logical_type }}({{ expr }})
{%- endmacro %}

{#- The accepted text of each contract type that is cast, as a regular expression in the
    syntax all three engines share (no backslash escapes: Spark's string literals would
    eat them). Text arrives trimmed, so the patterns allow no surrounding blanks. -#}
{% macro crm_type_pattern(logical_type) -%}
    {%- set patterns = {
        'integer': '^[-+]?[0-9]+$',
        'decimal': '^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$',
        'date': '^[0-9]{4}-[0-9]{2}-[0-9]{2}$',
        'timestamp': '^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?$',
    } -%}
    {%- if logical_type not in patterns -%}
        {{ exceptions.raise_compiler_error("crm_type_pattern: no pattern for type " ~ logical_type) }}
    {%- endif -%}
    {{ return(patterns[logical_type]) }}
{%- endmacro %}

{% macro crm_matches_pattern(expr, pattern) -%}
    {{ return(adapter.dispatch('crm_matches_pattern', 'crm_warehouse')(expr, pattern)) }}
{%- endmacro %}

{% macro default__crm_matches_pattern(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__crm_matches_pattern(expr, pattern) -%}
    {{ expr }} rlike '{{ pattern }}'
{%- endmacro %}

{% macro postgres__crm_matches_pattern(expr, pattern) -%}
    {{ expr }} ~ '{{ pattern }}'
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
    {%- for name in ['integer', 'decimal', 'date', 'timestamp'] %}
    {%- set sql_type = crm_sql_type(name) %}
    create or replace function {{ helpers }}.crm_try_{{ name }}(value text) returns {{ sql_type }}
    language plpgsql immutable parallel safe as $fn$
    begin
        if value is null or not ({{ crm_matches_pattern('value', crm_type_pattern(name)) }}) then
            return null;
        end if;
        return value::{{ sql_type }};
    exception when others then
        return null;
    end;
    $fn$;
    {%- endfor %}
{% endmacro %}
