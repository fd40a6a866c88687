{#- The activity status the state history recorded for every contact at every refresh:
    the input from which int_customers_activity tells a regained customer (lapsed at the
    last refresh before their latest order). The history (marts/customer_state_history) is
    built from the customer mart, which is built from int_customers_activity, so a ref()
    would be a cycle: the relation is looked up at compile time, where ref() would put it
    (the history node's database, schema and alias, as generate_schema_name made them on
    this target; on Spark the database is dropped by the adapter). It is read before the
    history is written in the same build, so it holds earlier refreshes only, plus the
    build's own date when that date is re-run (the activity model ignores refreshes not
    before the as_of_date). No history yet (first build, a dropped table): an empty set
    with the same columns, and the activity model falls back to the order history.
    A separate model rather than a CTE so that unit tests mock it instead of depending on
    whether the table exists. -#}
{%- set node = graph.nodes.get('model.' ~ project_name ~ '.customer_state_history') if execute else none -%}
{%- set history = adapter.get_relation(
    database=node.database, schema=node.schema, identifier=node.alias
) if node is not none else none -%}

{% if history is not none -%}
select
    cast(contact_id as {{ dbt.type_string() }}) as contact_id,
    cast(as_of_date as date) as refresh_date,
    cast(activity_status as {{ dbt.type_string() }}) as activity_status
from {{ history }}
{%- else -%}
select
    cast(null as {{ dbt.type_string() }}) as contact_id,
    cast(null as date) as refresh_date,
    cast(null as {{ dbt.type_string() }}) as activity_status
where 1 = 0
{%- endif %}
