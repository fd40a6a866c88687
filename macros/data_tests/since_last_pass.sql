{#- Data tests of the staged tables that look again only at what changed since they last passed.

    A staged key can only become duplicated, and a staged reference can only start pointing
    nowhere, through a base row whose outcome changed: every base row carries `_checked_at`,
    the start of the build that last changed its reject reasons or version rank (see
    crm_base_model). So once a test has passed, the next run of it needs to look only at the
    keys of base rows stamped after the build it passed in; for a reference, also at the keys
    of parent rows stamped since (a parent key that left the staged table). A run without a
    recorded pass, a full refresh (it stamps every row), or `--vars '{check_every_staged_row:
    true}'` checks every staged row, as does Spark, which rebuilds its base tables on every run.

    When each test last passed is kept in `crm_data_test_passes` in the target schema, written
    by the on-run-end hook for the tests that passed and only for them: a test that failed keeps
    its earlier pass, so the rows that made it fail are looked at again by the next run. A pass
    counts only for the same test over the same views: the record is keyed by the test's id
    and the file checksums of the staged views it reads, so editing one of them checks every
    row again (a change to a base model, or to a macro they call, needs `--full-refresh`). -#}


{% test unique_since_last_pass(model, column_name, checked_in) %}
{%- set passed_in = crm_data_test_last_pass('unique_since_last_pass', model, column_name) %}
with

{{ crm_keys_rechecked_since(passed_in, [(column_name, crm_model_relation(checked_in))]) }}
staged as (

    select {{ column_name }} as unique_field
    from {{ model }}
    where {{ crm_among_keys_rechecked(column_name, passed_in) }}

)

select
    unique_field,
    count(*) as n_records
from staged
group by unique_field
having count(*) > 1
{% endtest %}


{% test relationships_since_last_pass(model, column_name, to, field, checked_in, to_checked_in) %}
{%- set passed_in = crm_data_test_last_pass('relationships_since_last_pass', model, column_name) %}
with

{{ crm_keys_rechecked_since(passed_in, [
    (column_name, crm_model_relation(checked_in)),
    (field, crm_model_relation(to_checked_in)),
]) }}
child as (

    select {{ column_name }} as from_field
    from {{ model }}
    where {{ crm_among_keys_rechecked(column_name, passed_in) }}

),

parent as (

    select {{ field }} as to_field
    from {{ to }}

)

select child.from_field
from child
left join parent
    on child.from_field = parent.to_field
where parent.to_field is null
{% endtest %}


{#- The CTE `keys_rechecked`, followed by a comma: every value of each (column, relation) in
    `sources` on a base row stamped after `passed_in`. Nothing when `passed_in` is none. -#}
{% macro crm_keys_rechecked_since(passed_in, sources) -%}
    {%- if passed_in is not none -%}
keys_rechecked as (
    {% for column, relation in sources %}
    select {{ column }} as rechecked_key
    from {{ relation }}
    where _checked_at > {{ crm_timestamp_literal(passed_in) }}
    {%- if not loop.last %}
    union
    {%- endif %}
    {%- endfor %}

),

    {%- endif -%}
{%- endmacro %}


{#- The rows of the tested model to look at: a value, and among the keys rechecked since the
    last pass when there was one. -#}
{% macro crm_among_keys_rechecked(column_name, passed_in) -%}
    {{ column_name }} is not null
    {%- if passed_in is not none %}
        and {{ column_name }} in (select rechecked_key from keys_rechecked)
    {%- endif %}
{%- endmacro %}


{#- The relation of the model named `name`, found in dbt's graph rather than by ref(): a ref
    would make the test a child of the base model, and selecting that model alone (say
    `dbt build --full-refresh --select base_crm__orders`, which on PostgreSQL drops the staged
    view with it) would run the test against a view not yet rebuilt. The tested view is built
    from the base model anyway, so the test still runs after it. -#}
{% macro crm_model_relation(name) -%}
    {%- if not execute -%}{{ return(name) }}{%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name -%}
        {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("No model named " ~ name ~ " for a data test's checked_in / to_checked_in") }}
{%- endmacro %}


{#- The table of last passes, in the target schema. -#}
{% macro crm_data_test_passes() -%}
    {{ return(api.Relation.create(
        database=target.database, schema=target.schema, identifier='crm_data_test_passes'
    )) }}
{%- endmacro %}


{#- on-run-start: the table exists before any test reads it. -#}
{% macro crm_create_data_test_passes() -%}
    {%- if crm_engine_keeps_tables_incrementally() -%}
    create table if not exists {{ crm_data_test_passes() }} (
        test_key varchar(32),
        passed_in_build_started_at {{ dbt.type_timestamp() }}
    )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{#- on-run-end: record, for each of these tests that passed, the start of this invocation. -#}
{% macro crm_record_data_test_passes(results) -%}
    {%- set keys = [] -%}
    {%- if execute and crm_engine_keeps_tables_incrementally() -%}
        {%- for result in results if result.status == 'pass' -%}
            {%- set node = graph.nodes.get(result.node.unique_id) or {} -%}
            {%- if (node.get('test_metadata') or {}).get('name') in crm_data_tests_since_last_pass() -%}
                {%- do keys.append("'" ~ crm_data_test_key(node) ~ "'") -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if keys -%}
    delete from {{ crm_data_test_passes() }} where test_key in ({{ keys | join(', ') }});
    insert into {{ crm_data_test_passes() }} (test_key, passed_in_build_started_at)
    values
        {%- for key in keys %}
        ({{ key }}, {{ crm_build_started_at() }}){% if not loop.last %},{% endif %}
        {%- endfor %}
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}


{% macro crm_data_tests_since_last_pass() -%}
    {{ return(['unique_since_last_pass', 'relationships_since_last_pass']) }}
{%- endmacro %}


{#- The test's id and the checksums of the models it depends on (the staged views): a pass of
    another version of the test, or over other code of those views, does not count. -#}
{% macro crm_data_test_key(test_node) -%}
    {%- set checksums = [] -%}
    {%- for parent_id in test_node.depends_on.nodes | sort -%}
        {%- set parent = graph.nodes.get(parent_id) or graph.sources.get(parent_id) or {} -%}
        {%- do checksums.append(parent_id ~ '=' ~ (parent.get('checksum') or {}).get('checksum', '')) -%}
    {%- endfor -%}
    {{ return(local_md5(test_node.unique_id ~ '|' ~ checksums | join('|'))) }}
{%- endmacro %}


{#- When the test `test_name` on `model`.`column_name` last passed (the start of that build),
    or none when every staged row must be checked. -#}
{% macro crm_data_test_last_pass(test_name, model, column_name) -%}
    {%- if not execute
        or not crm_engine_keeps_tables_incrementally()
        or var('check_every_staged_row') | string | lower == 'true' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set matches = [] -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'test'
        and (node.test_metadata or {}).get('name') == test_name
        and node.column_name == column_name -%}
        {%- set tested = graph.nodes.get(node.attached_node) or {} -%}
        {%- if tested.get('alias') == model.identifier and tested.get('schema') == model.schema -%}
            {%- do matches.append(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if matches | length != 1 -%}
        {{ log(test_name ~ " on " ~ model ~ "." ~ column_name ~ ": " ~ matches | length
            ~ " tests match, so every staged row is checked", info=true) }}
        {{ return(none) }}
    {%- endif -%}
    {%- set passes = crm_data_test_passes() -%}
    {#- `dbt compile` and `dbt docs generate` run no hooks: on a new warehouse the table is not there yet -#}
    {%- if adapter.get_relation(database=passes.database, schema=passes.schema, identifier=passes.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set passed = run_query(
        "select max(passed_in_build_started_at) from " ~ passes
        ~ " where test_key = '" ~ crm_data_test_key(matches[0]) ~ "'"
    ).columns[0].values()[0] -%}
    {{ return(passed) }}
{%- endmacro %}

