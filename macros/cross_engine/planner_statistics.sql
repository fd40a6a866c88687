{#- Post-hook of every model (dbt_project.yml): PostgreSQL plans each query from table
    statistics, and a table dbt has just created or refilled has none until autovacuum comes
    by; the planner then guesses a few hundred rows and picks nested loops over millions (a
    relationships test on the sample took 96 s instead of under 1). Views have no statistics
    of their own, and the other engines need nothing. -#}
{% macro crm_refresh_planner_statistics() -%}
    {%- if target.type == 'postgres' and model.config.materialized in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
