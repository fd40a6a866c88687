{#- DuckDB builds each hash join's table on the side it estimates smaller. In an incremental
    build the keys to compute again are chosen by comparing build stamps with the table's own
    (`_checked_at > (select max(_priced_at) ...)`), which it cannot estimate: it guesses
    millions, more than the large table it joins them to, and builds its hash table from every
    staged (or priced) order instead of from the 1% of keys. At 1M contacts that cost 0.5-2 s
    in each of the four models below (docs/decisions.md). Their pre-hook keeps the sides as the
    SQL writes them, the key set (`in (...)`, the right side of a join) built and the large
    table probing; the post-hook gives DuckDB its choice back (`reset`: the profile disables
    no optimizer).

    DuckDB holds the setting for the whole database, not per connection, so it is only changed
    when dbt runs one node at a time (the project's default, CRM_DBT_THREADS): with more
    threads it would reach the nodes running beside. A build from scratch has no key set and
    keeps DuckDB's choice. -#}
{% macro crm_keys_side_built_in_incremental_builds() -%}
    {%- if crm_join_sides_may_be_held() and is_incremental() -%}
        set disabled_optimizers = 'build_side_probe_side'
    {%- endif -%}
{%- endmacro %}


{% macro crm_join_side_choice_restored() -%}
    {%- if crm_join_sides_may_be_held() -%}
        reset disabled_optimizers
    {%- endif -%}
{%- endmacro %}


{#- DuckDB, one node at a time (`target.threads` follows CRM_DBT_THREADS and dbt's --threads). -#}
{% macro crm_join_sides_may_be_held() -%}
    {{ return(target.type == 'duckdb' and target.threads == 1) }}
{%- endmacro %}
