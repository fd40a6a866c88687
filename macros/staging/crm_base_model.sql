{#- Type and check every raw row of one CRM entity against the extract contract.

    The contract (docs/extract_contract.yml) reaches dbt as column meta in
    _crm__sources.yml: type, required, allowed, min, max, allow_future. Each rule is
    written once here and applies to every entity.

    Output: one row per raw row, with typed columns, the load lineage, `_raw_values` (the
    text as it arrived, for the rejects model; null on good rows), `_reject_reasons` (null when the row is good;
    otherwise every broken rule, comma separated), `_version_rank` (1 = the latest good
    version of its key; good rows with a higher rank are superseded versions; null when the
    row has no key) and `_checked_at` (when the dbt invocation that gave the row its current
    outcome started: a downstream incremental model finds the rows that changed since its own
    last build by this stamp).

    parents: {column: the parent entity's base model}, for each column the contract gives a
    `references: entity.key` (checked when the model compiles); the row is kept only when
    that key is staged (the parent's latest good rows), and a reference that points
    nowhere rejects the row as orphan_<column>. Refs, not names, so that dbt builds the
    parent first.

    Incremental builds (dbt_project.yml) re-check only the raw rows whose outcome can change:
    the rows of loads not yet in the table, every row of a key those loads touch (its
    version ranks move), and the orphans whose missing parent key is staged now, with every
    row of their keys. Nothing else can change: a row's type checks depend only on its own
    text and load time, and a parent key once staged stays staged (a key keeps its good
    version ahead of later bad ones), so the set of parent keys only grows. A rechecked row whose outcome (reject
    reasons, version rank) is the one the table holds is left out of the insert: the table
    keeps it, with the stamp of the build that last changed it, so an orphan still waiting
    for its parent does not count as changed on every build. -#}
{% macro crm_base_model(source_relation, entity, parents={}) %}
{#- At parse time the graph is empty; dbt only needs the source() and ref() arguments. -#}
{%- if not execute -%}{{ return('select 1 as parse_placeholder') }}{%- endif -%}
{%- set node = crm_source_node(entity) -%}
{%- set columns = crm_contract_columns(node) -%}
{%- set key = node.config.meta.get('key') or node.meta.get('key') -%}
{%- set version_column = node.config.meta.get('version_column') or node.meta.get('version_column') -%}
{%- do crm_assert_parents_follow_the_contract(entity, columns, parents) -%}

with

{% if is_incremental() -%}
{%- do crm_assert_base_loads_still_raw(this, source_relation) %}
new_loads as (

    {{ crm_load_ids_missing_from(source_relation, this) }}

),

{#- Most orphans wait for a parent that never comes: looking their references up costs far
    less than reading, typing and checking them all again on every build. -#}
orphans_whose_parent_arrived as materialized (

    select {{ key | join(', ') }} as recheck_key, _load_id, _source_file, _source_row_number
    from {{ this }}
    where {{ crm_orphan_whose_parent_is_staged_condition(columns, parents) }}

),

keys_to_recheck as (

    select {{ crm_typed_key(columns, key) }} as recheck_key
    from {{ source_relation }}
    where _load_id in (select _load_id from new_loads)
    union
    select recheck_key from orphans_whose_parent_arrived

),

{#- The old rows to check again are found in this table, which holds every raw row's typed
    key, instead of by typing the key of every raw row (order lines at 1M: 0.65 s less).
    The orphans are named too, for those without a key. Materialized: DuckDB otherwise turns
    the lookup below into a join that copies every raw row (7 s for the order lines). -#}
rows_to_recheck as materialized (

    select _load_id, _source_file, _source_row_number
    from {{ this }}
    where {{ key | join(', ') }} in (select recheck_key from keys_to_recheck)
    union
    select _load_id, _source_file, _source_row_number
    from orphans_whose_parent_arrived

),

source as (

    select * from {{ source_relation }} as raw_row
    where
        _load_id in (select _load_id from new_loads)
        or exists (
            select 1 from rows_to_recheck
            where
                rows_to_recheck._load_id = raw_row._load_id
                and rows_to_recheck._source_file = raw_row._source_file
                and rows_to_recheck._source_row_number = raw_row._source_row_number
        )

),
{%- else -%}
source as (

    select * from {{ source_relation }}

),
{%- endif %}

typed as (

    select
        {%- for column in columns %}
        {{ crm_typed_value(column) }} as {{ column.name }},
        {%- endfor %}
        {%- for column in columns %}
        {{ column.name }} as _raw_{{ column.name }},
        {%- endfor %}
        _source_file,
        _source_row_number,
        _load_id,
        _loaded_at,
        nullif({{ crm_reason_list(columns) }}, '') as _type_reasons
    from source

),

{# With parents, their lookups' hash tables would otherwise share DuckDB's memory bound with
    the rank's window below (crm_materialized_on_duckdb); without, there is nothing to part. -#}
checked as {% if parents %}{{ crm_materialized_on_duckdb() }} {% endif %}(

    select
        {%- for column in columns %}
        typed.{{ column.name }},
        {%- endfor %}
        typed._source_file,
        typed._source_row_number,
        typed._load_id,
        typed._loaded_at,
        case
            when {{ crm_reject_condition(parents) }}
                then {{ crm_raw_values_text(columns) }}
        end as _raw_values,
        nullif(concat_ws(', ',
            _type_reasons
            {%- for column_name, parent in parents.items() %},
            case
                when {{ crm_orphan_condition(column_name, loop.index) }}
                    then 'orphan_{{ column_name }}'
            end
            {%- endfor %}
        ), '') as _reject_reasons
    from typed
    {%- for column_name, parent in parents.items() %}
    {%- set parent_entity, parent_key = crm_reference(columns, column_name) %}
    left join (
        select staged_parent.{{ parent_key }} as parent_key
        from ({{ crm_latest_good_rows(parent) }}) as staged_parent
    ) as parent_{{ loop.index }}
        on typed.{{ column_name }} = parent_{{ loop.index }}.parent_key
    {%- endfor %}

),

ranked as (

    select
        checked.*,
        case when {{ key | join(' is not null and ') }} is not null then
            row_number() over (
                partition by {{ key | join(', ') }}
                order by
                    case when _reject_reasons is null then 0 else 1 end,
                    {% if version_column %}{{ version_column }} desc nulls last,{% endif %}
                    _loaded_at desc,
                    _source_file desc,
                    _source_row_number desc
            )
        end as _version_rank
    from checked

)

select
    ranked.*,
    {{ crm_build_started_at() }} as _checked_at
from ranked
{%- if is_incremental() %}
{# A recheck that reaches the outcome the table holds leaves that row, and its stamp, as
   they are: the typed values depend only on the row's own text and load time, so the
   outcome is the reject reasons and the version rank. #}
where not exists (
    select 1 from {{ this }} as checked_before
    where
        checked_before._load_id = ranked._load_id
        and checked_before._source_file = ranked._source_file
        and checked_before._source_row_number = ranked._source_row_number
        and checked_before._reject_reasons is not distinct from ranked._reject_reasons
        and checked_before._version_rank is not distinct from ranked._version_rank
)
{%- endif %}
{% endmacro %}


{#- An incremental build trusts that every load in the table is still in raw; a raw table
    rebuilt or trimmed since would leave rows that no longer exist. -#}
{% macro crm_assert_base_loads_still_raw(base_relation, source_relation) %}
    {%- set query -%}
        select count(*) from (
            {{ crm_load_ids_missing_from(base_relation, source_relation) }}
        ) as vanished_loads
    {%- endset -%}
    {%- set vanished = run_query(query).columns[0].values()[0] -%}
    {%- if vanished > 0 -%}
        {{ exceptions.raise_compiler_error(
            base_relation ~ " holds " ~ vanished ~ " load(s) no longer in " ~ source_relation
            ~ " (was the raw table rebuilt?). Rebuild the staging layer from raw with "
            ~ "`dbt build --full-refresh --select staging` (or scripts.run_pipeline --full-refresh)."
        ) }}
    {%- endif -%}
{% endmacro %}


{#- The loads of one table that another does not hold. Each side is made distinct first: an
    `except` of the bare columns hashed every row (14M order lines: 1.0 s, against 0.06 s for
    the few distinct load ids of each). -#}
{% macro crm_load_ids_missing_from(relation, other_relation) -%}
    select distinct _load_id from {{ relation }}
    except
    select distinct _load_id from {{ other_relation }}
{%- endmacro %}


{#- The typed key of a raw row, as the typed CTE computes it (single-column keys). -#}
{% macro crm_typed_key(columns, key) %}
    {%- if key | length != 1 -%}
        {{ exceptions.raise_compiler_error("crm_base_model: incremental builds expect a one-column key, got " ~ key) }}
    {%- endif -%}
    {%- for column in columns if column.name == key[0] -%}
        {{ return(crm_typed_value(column)) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("crm_base_model: key " ~ key[0] ~ " is not a contract column") }}
{% endmacro %}


{#- The row was rejected because a reference pointed nowhere, and the key it points to has
    been staged since this table last changed (false for entities without parents). A key
    becomes staged only through a base row whose outcome changed, which then carries the
    stamp of that build (see `_checked_at` above), so the parent rows stamped after this
    table's latest stamp hold every key that can have arrived since: a look at a few rows
    instead of every staged parent key. A parent row stamped by the same invocation as that
    latest stamp was already there when this table was built then (dbt builds the parent
    first), so `>` is enough; `>=` would take every parent row again in the first build after
    a full refresh, which stamps all of them at once. -#}
{% macro crm_orphan_whose_parent_is_staged_condition(columns, parents) -%}
    {%- for column_name, parent in parents.items() -%}
        {%- set parent_entity, parent_key = crm_reference(columns, column_name) -%}
        (
            _reject_reasons like '%orphan_{{ column_name }}%'
            and {{ column_name }} in (
                select staged_parent.{{ parent_key }}
                from ({{ crm_latest_good_rows(parent) }}) as staged_parent
                where staged_parent._checked_at > (select max(_checked_at) from {{ this }})
            )
        ){% if not loop.last %} or {% endif %}
    {%- else -%}
        1 = 0
    {%- endfor -%}
{%- endmacro %}


{#- Each parent a base model passes is the base model of the entity its column references in
    the contract, and every referencing column has one: the contract is where references are
    declared, the model file only names them again for dbt's graph. -#}
{% macro crm_assert_parents_follow_the_contract(entity, columns, parents) %}
    {%- set expected = {} -%}
    {%- for column in columns if column.references -%}
        {%- do expected.update({column.name: 'base_crm__' ~ column.references.split('.')[0]}) -%}
    {%- endfor -%}
    {%- set passed = {} -%}
    {%- for column_name, parent in parents.items() -%}
        {%- do passed.update({column_name: parent.identifier}) -%}
    {%- endfor -%}
    {%- if passed != expected -%}
        {{ exceptions.raise_compiler_error(
            "base_crm__" ~ entity ~ ": parents " ~ passed ~ " do not match the contract's references "
            ~ expected ~ " (docs/extract_contract.yml). Pass parents={column: ref('base_crm__<entity>')} "
            ~ "for each column with `references: <entity>.<key>`."
        ) }}
    {%- endif -%}
{% endmacro %}


{#- The source node of crm.<entity> from the dbt graph. -#}
{% macro crm_source_node(entity) %}
    {%- for node in graph.sources.values() if node.source_name == 'crm' and node.name == entity -%}
        {{ return(node) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("crm_base_model: no source crm." ~ entity ~ " in _crm__sources.yml") }}
{% endmacro %}


{#- Contract columns of a source node as dicts {name, type, required, allowed, min, max, ...}. -#}
{% macro crm_contract_columns(node) %}
    {%- set result = [] -%}
    {%- for name, column in node.columns.items() if not name.startswith('_') -%}
        {%- set meta = column.config.meta if column.config and column.config.meta else column.meta -%}
        {%- do result.append({
            'name': name,
            'type': meta.get('type', 'string'),
            'required': meta.get('required', false),
            'allowed': meta.get('allowed', []),
            'min': meta.get('min'),
            'max': meta.get('max'),
            'references': meta.get('references'),
            'allow_future': meta.get('allow_future', false),
        }) -%}
    {%- endfor -%}
    {{ return(result) }}
{% endmacro %}


{#- One contract column of a source node, by name; a compile error when the contract lacks it. -#}
{% macro crm_contract_column(node, column_name) %}
    {%- for column in crm_contract_columns(node) if column.name == column_name -%}
        {{ return(column) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("no column " ~ column_name ~ " in the contract of crm." ~ node.name ~ " (_crm__sources.yml)") }}
{% endmacro %}


{#- The (entity, key column) a contract column references, from its `references: entity.key`. -#}
{% macro crm_reference(columns, column_name) %}
    {%- for column in columns if column.name == column_name and column.references -%}
        {{ return(column.references.split('.')) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("crm_base_model: " ~ column_name ~ " has no `references` in the contract") }}
{% endmacro %}


{#- Raw text with blanks treated as missing. -#}
{% macro crm_clean_text(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}


{% macro crm_typed_value(column) -%}
    {%- set clean = crm_clean_text(column.name) -%}
    {%- if column.type == 'boolean' -%}
        {{ crm_parse_boolean(clean) }}
    {%- elif column.type == 'string' and column.allowed -%}
        lower({{ clean }})
    {%- elif column.type == 'string' -%}
        {{ clean }}
    {%- else -%}
        {{ crm_try_cast(clean, column.type) }}
    {%- endif -%}
{%- endmacro %}


{% macro crm_parse_boolean(expr) -%}
    case
        when lower({{ expr }}) in ('true', 't', '1', 'yes', 'y') then true
        when lower({{ expr }}) in ('false', 'f', '0', 'no', 'n') then false
    end
{%- endmacro %}


{#- Every contract rule a row breaks, comma separated (empty when none). -#}
{% macro crm_reason_list(columns) -%}
    concat_ws(', '
    {%- for column in columns -%}
        {%- set clean = crm_clean_text(column.name) -%}
        {%- set typed = crm_typed_value(column) -%}
        {%- if column.required %},
        case when {{ clean }} is null then 'missing_{{ column.name }}' end
        {%- endif -%}
        {%- if column.type != 'string' %},
        case when {{ clean }} is not null and {{ typed }} is null then 'invalid_{{ column.name }}' end
        {%- endif -%}
        {%- if column.allowed %},
        case
            when {{ clean }} is not null
                and lower({{ clean }}) not in ('{{ column.allowed | join("', '") }}')
                then 'invalid_{{ column.name }}'
        end
        {%- endif -%}
        {%- if column.min is not none %},
        case
            when {{ typed }} < {{ column.min }}
                then '{{ "negative_" if column.min == 0 else "out_of_range_" }}{{ column.name }}'
        end
        {%- endif -%}
        {%- if column.max is not none %},
        case when {{ typed }} > {{ column.max }} then 'out_of_range_{{ column.name }}' end
        {%- endif -%}
        {%- if column.type in ('date', 'timestamp') and not column.allow_future %},
        case
            when {{ typed }} > {{ 'cast(_loaded_at as date)' if column.type == 'date' else '_loaded_at' }}
                then 'future_{{ column.name }}'
        end
        {%- endif -%}
    {%- endfor %}
    )
{%- endmacro %}


{#- The raw row as readable text (column=value | ...), kept with each reject only: on good
    rows it would be the widest column of the table and is never read. -#}
{% macro crm_raw_values_text(columns) -%}
    concat_ws(' | '
    {%- for column in columns %},
        concat('{{ column.name }}=', coalesce(typed._raw_{{ column.name }}, ''))
    {%- endfor %}
    )
{%- endmacro %}


{#- A reference of the row points to no staged parent (parent_<index> is its lookup join). -#}
{% macro crm_orphan_condition(column_name, index) -%}
    typed.{{ column_name }} is not null and parent_{{ index }}.parent_key is null
{%- endmacro %}


{#- The row breaks a contract rule or points to a missing parent. -#}
{% macro crm_reject_condition(parents) -%}
    typed._type_reasons is not null
    {%- for column_name, parent in parents.items() %}
    or ({{ crm_orphan_condition(column_name, loop.index) }})
    {%- endfor %}
{%- endmacro %}


{#- The rows a staging model keeps: the latest good version of each key. -#}
{% macro crm_latest_good_rows(base_relation) -%}
    select * from {{ base_relation }}
    where _reject_reasons is null and _version_rank = 1
{%- endmacro %}
