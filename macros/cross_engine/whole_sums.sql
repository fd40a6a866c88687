{#- A sum of whole numbers (quantities, counts per order) as a 64-bit integer. DuckDB sums
    integers into a 128-bit HUGEINT and PostgreSQL sums bigints into numeric; both are slow to
    store, scan and cast back downstream (docs/decisions.md, "Stored counts and amounts keep
    64-bit widths"). A count of rows that meet a condition is count(case when ... then 1 end)
    instead, already a bigint everywhere. -#}
{% macro crm_sum_whole(expr) -%}
    cast(sum({{ expr }}) as {{ dbt.type_bigint() }})
{%- endmacro %}
