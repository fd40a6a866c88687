{#- The FROM clause that puts per-contact models beside the facts, one row per contact.

    A hash join holds its build side in memory while its probe runs, and one DuckDB pipeline
    probes every join of a statement: with eight per-contact models left-joined to the facts,
    all eight tables (most of the customers mart's columns, the reasons included) were held at
    once, and 3M contacts ran out of the default 2 GB (docs/benchmarks.md, "The customers
    mart's memory ceiling"). Each of these models has exactly the facts' contacts, one row
    each, so on DuckDB they are read in contact_id order and put side by side by position
    (POSITIONAL JOIN): sorts spill to disk, no table is held whole. The filter fails the build,
    naming the model, if a row's keys disagree (a model with a contact more or less, or rows out
    of order): the mart is never assembled from misaligned rows.

    PostgreSQL and Spark have no positional join and spill each hash join on its own, so they
    keep the left joins, which give the same rows when the contacts agree.

    `facts` and each lookup are (relation, alias) pairs; the aliases name the columns in the
    caller's select list. -#}
{% macro crm_per_contact_models_side_by_side(facts, lookups) -%}
    {%- set facts_relation, facts_alias = facts -%}
    {%- if target.type == 'duckdb' %}
    (select * from {{ facts_relation }} order by contact_id) as {{ facts_alias }}
        {%- for relation, alias in lookups %}
    positional join (select * from {{ relation }} order by contact_id) as {{ alias }}
        {%- endfor %}
    where case
        {%- for relation, alias in lookups %}
        when {{ alias }}.contact_id is distinct from {{ facts_alias }}.contact_id
            then error(
                '{{ relation.identifier }} must have exactly the contacts of {{ facts_relation.identifier }}, '
                || 'one row each, but in contact_id order its ' || coalesce({{ alias }}.contact_id, '(no row)')
                || ' stands beside ' || coalesce({{ facts_alias }}.contact_id, '(no row)')
                || '. Rebuild them together (dbt build --select {{ facts_relation.identifier }}+); '
                || 'if it persists, {{ relation.identifier }} drops or repeats contacts.'
            )
        {%- endfor %}
        else true
    end
    {%- else %}
    {{ facts_relation }} as {{ facts_alias }}
        {%- for relation, alias in lookups %}
    left join {{ relation }} as {{ alias }}
        on {{ facts_alias }}.contact_id = {{ alias }}.contact_id
        {%- endfor %}
    {%- endif %}
{%- endmacro %}
