{#- DuckDB streams a CTE into the operators above it, so the parent lookups' hash tables (a
    base model's orphan check) and the version rank's window fill one pipeline and share one
    memory bound. At 3M contacts the invoices' two lookups (29M order keys, 3M contact keys)
    and the rank of 28M rows ran out of the default 2 GB in 2 of 3 tries; with the lookups'
    result materialized first, each step has the whole bound to itself: 3 of 3 passed under
    2 GB, and 2 of 2 under 1 GB (docs/benchmarks.md, "The base models' memory ceiling").
    PostgreSQL bounds each hash and sort by its own work_mem and spills each on its own;
    Spark has no `materialized` CTEs. -#}
{% macro crm_materialized_on_duckdb() -%}
    {%- if target.type == 'duckdb' -%}materialized{%- endif -%}
{%- endmacro %}
