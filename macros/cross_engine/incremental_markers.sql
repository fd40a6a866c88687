{#- When this dbt invocation started (UTC), as a timestamp every engine reads. Incremental
    models stamp the rows they (re)write with it, so a model downstream can tell the rows
    changed since its own last build: a later invocation carries a later stamp, as long as
    the machine's clock does not go back between two builds. -#}
{% macro crm_build_started_at() -%}
    {{ crm_timestamp_literal(run_started_at) }}
{%- endmacro %}


{#- One text that changes whenever a value in any of `row_sets` changes, a row is added or a
    row goes, or one of the `settings` (names of project vars) is given another value: for
    each [relation, [key, column, ...]] the rows listed in the order of those columns (rows
    that share a key too, whatever order the engine reads them in), then each var's name and
    value. An incremental model keeps it on its rows to tell when an input it reads whole (the
    products, the currency rates, the business-rule vars it reads) has changed, so that every
    row must be computed again. Spark rebuilds those models on every run and never compares it
    (and its listagg cannot order). -#}
{% macro crm_fingerprint(row_sets, settings=[]) -%}
    {%- if not crm_engine_keeps_tables_incrementally() -%}
    cast(null as {{ dbt.type_string() }})
    {%- else -%}
    {%- set texts = [] -%}
    {%- for relation, columns in row_sets -%}
        {%- set values = [] -%}
        {%- for column in columns -%}
            {%- if not loop.first %}{% do values.append("'/'") %}{% endif -%}
            {%- do values.append("coalesce(" ~ dbt.cast(column, dbt.type_string()) ~ ", '(null)')") -%}
        {%- endfor -%}
        {%- if not loop.first %}{% do texts.append("'#'") %}{% endif -%}
        {%- do texts.append(
            '(select ' ~ dbt.listagg(dbt.concat(values), "'|'", 'order by ' ~ columns | join(', '))
            ~ ' from ' ~ relation ~ ')'
        ) -%}
    {%- endfor -%}
    {%- for name in settings -%}
        {%- set setting = '#' ~ name ~ '=' ~ tojson(var(name)) -%}
        {%- do texts.append("'" ~ setting | replace("'", "''") ~ "'") -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(texts)) }}
    {%- endif -%}
{%- endmacro %}


{#- Whether this engine keeps the large intermediate tables incrementally. Spark (parquet
    tables, no delete) rebuilds them on every run, as it does its base tables (the same rule
    is written in dbt_project.yml for those, where project macros cannot be called). -#}
{% macro crm_engine_keeps_tables_incrementally() -%}
    {{ return(target.type != 'spark') }}
{%- endmacro %}


{#- What changed since `aggregate` (an incremental per-contact table stamped with
    `_aggregated_at` and `_aggregated_as_of`, and `_inputs_fingerprint` when
    `inputs_fingerprint` is given) was last built, as one row:
    - aggregated_at: when that build started; rows stamped later changed since;
    - moved_from, moved_to: the evaluation date it was built for, and today's (`as_of`, a
      relation with one row, its `as_of_date`);
    - everyone_again: true when the evaluation date went back (the table keeps the latest date
      it was built for, not the last one, so a date that moves back and forth is not traced),
      when the table is empty, or when `inputs_fingerprint` (the name of a relation with one
      row, its `fingerprint`, of an input the table reads whole) differs from the one the
      table was built with. -#}
{% macro crm_since_last_build(aggregate, as_of, inputs_fingerprint=none) -%}
    {%- do crm_assert_built_with_stamps(aggregate) -%}
    select
        coalesce(
            max(aggregated._aggregated_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})
        ) as aggregated_at,
        coalesce(max(aggregated._aggregated_as_of), max({{ as_of }}.as_of_date)) as moved_from,
        max({{ as_of }}.as_of_date) as moved_to,
        coalesce(
            max(aggregated._aggregated_as_of) > max({{ as_of }}.as_of_date)
            {%- if inputs_fingerprint %}
            or max(aggregated._inputs_fingerprint) is distinct from max({{ inputs_fingerprint }}.fingerprint)
            {%- endif %},
            true
        ) as everyone_again
    from {{ as_of }}
    {%- if inputs_fingerprint %}
    cross join {{ inputs_fingerprint }}
    {%- endif %}
    left join {{ aggregate }} as aggregated
        on true
{%- endmacro %}


{#- A per-contact table that an older version of the project built whole has no build stamps
    for an incremental build to read (DuckDB would stop with a binder error on
    `_aggregated_at`): say which table and how to rebuild it once. -#}
{% macro crm_assert_built_with_stamps(aggregate) -%}
    {%- if execute -%}
        {%- set names = adapter.get_columns_in_relation(aggregate) | map(attribute='name') | map('lower') | list -%}
        {%- if '_aggregated_at' not in names -%}
            {{ exceptions.raise_compiler_error(
                aggregate ~ " was built by an older version of the project, without the build "
                ~ "stamps an incremental build reads. Rebuild it once from scratch: `dbt build "
                ~ "--full-refresh --select " ~ aggregate.identifier ~ "` (or scripts.run_pipeline "
                ~ "--full-refresh, which rebuilds every incremental table)."
            ) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- Whether `date_column` fell on the other side of an edge when the evaluation date moved
    (`since`, from crm_since_last_build): a row counts up to the date, and within windows of
    `window_days` back from it, so when the date moves from `old` to `new` the rows dated in
    (old - d, new - d] change for every edge d in [0] + window_days. -#}
{% macro crm_crossed_by_date_move(date_column, since, window_days=[]) -%}
    (
        {%- for days in [0] + window_days %}
        {% if not loop.first %}or {% endif -%}
        (
            {{ date_column }} > {{ dbt.dateadd('day', -days, since ~ '.moved_from') }}
            and {{ date_column }} <= {{ dbt.dateadd('day', -days, since ~ '.moved_to') }}
        )
        {%- endfor %}
    )
{%- endmacro %}


{#- The contacts of the rows of a base table that staging (re)checked since `since`. -#}
{% macro crm_contacts_rechecked_since(base_relation, since) -%}
    select rechecked.contact_id
    from {{ base_relation }} as rechecked
    cross join {{ since }}
    where rechecked._checked_at > {{ since }}.aggregated_at
{%- endmacro %}


{#- The contacts of the rows of `relation` (aliased `changed`, which `dated`, `changed_when`
    and `only_when` may name) that may change an incremental per-contact table's facts, as
    `since` (from crm_since_last_build) tells:
    - every row, when `since` says everyone must be computed again;
    - the rows whose date (`dated`, an expression) lies in the days an edge of the evaluation
      date's move crossed (crm_crossed_by_date_move; `window_days` as there);
    - the rows that `changed_when` (an expression) picks;
    of those, only the rows `only_when` (an expression) keeps. Each model names its own
    relations and columns, the rule is written once here. -#}
{% macro crm_contacts_of_changed_rows(
    relation, since, dated=none, window_days=[], changed_when=none, only_when=none
) -%}
    select changed.contact_id
    from {{ relation }} as changed
    cross join {{ since }}
    where
        {%- if only_when %}
        ({{ only_when }}) and
        {%- endif %}
        (
            {{ since }}.everyone_again
            {%- if dated %}
            or {{ crm_crossed_by_date_move(dated, since, window_days) }}
            {%- endif %}
            {%- if changed_when %}
            or ({{ changed_when }})
            {%- endif %}
        )
{%- endmacro %}


{#- The buyers whose facts in `aggregate` may differ from a rebuild's (`since`, from
    crm_since_last_build):
    - the buyers of every order priced again since the table was last built, and the buyers
      of the order rows staging rechecked since (the base model rechecks every version of a
      key a load touches, so an order that moved to another contact changes both);
    - the buyers with an order dated across an edge the evaluation date's move crossed;
    - everyone, when `since` says so. -#}
{% macro crm_buyers_to_reaggregate(aggregate, since, window_days=[]) -%}
    {{ crm_contacts_of_changed_rows(
        ref('int_orders_priced'), since, dated='changed.ordered_on', window_days=window_days,
        changed_when='changed._priced_at > ' ~ since ~ '.aggregated_at',
    ) }}
    union
    {{ crm_contacts_rechecked_since(ref('base_crm__orders'), since) }}
    union
    {{ crm_contacts_of_changed_rows(aggregate, since) }}
{%- endmacro %}


{#- The config of a per-contact table kept incrementally (DuckDB, PostgreSQL; a table rebuilt
    each run on Spark): delete+insert by contact_id. A contact recomputed with nothing left to
    aggregate comes out of crm_select_aggregated with null facts, and the post-hook deletes
    that row, as a rebuild would not have it: `always_set_column` is a column that a real row
    never leaves null (a count). delete+insert alone only replaces the keys it inserts. The
    other hooks keep DuckDB's hash joins built on the key set (macros/cross_engine/join_sides.sql). -#}
{% macro crm_incremental_per_contact_config(always_set_column) -%}
    {{ config(
        materialized='incremental' if crm_engine_keeps_tables_incrementally() else 'table',
        incremental_strategy='delete+insert',
        unique_key='contact_id',
        on_schema_change='fail',
        pre_hook=["{{ crm_keys_side_built_in_incremental_builds() }}"],
        post_hook=[
            "delete from {{ this }} where " ~ always_set_column ~ " is null",
            "{{ crm_join_side_choice_restored() }}",
        ] if crm_engine_keeps_tables_incrementally() else [],
    ) }}
{%- endmacro %}


{#- The final select of a per-contact table kept incrementally: the `columns` of `facts` (a
    relation with one row per contact_id) with the build stamps, for every contact of `facts`
    on a full build, and for each contact of `contacts_to_reaggregate` on an incremental one
    (null facts when it has none left). `as_of` and `inputs_fingerprint` name one-row
    relations, as in crm_since_last_build. -#}
{% macro crm_select_aggregated(
    facts, columns, contacts_to_reaggregate, as_of='as_of', inputs_fingerprint=none
) -%}
    {%- set contacts = contacts_to_reaggregate if is_incremental() else facts -%}
    select
        {{ contacts }}.contact_id,
        {%- for column in columns %}
        {{ facts }}.{{ column }},
        {%- endfor %}
        {{ as_of }}.as_of_date as _aggregated_as_of,
        {%- if inputs_fingerprint %}
        {{ inputs_fingerprint }}.fingerprint as _inputs_fingerprint,
        {%- endif %}
        {{ crm_build_started_at() }} as _aggregated_at
    from {{ contacts }}
    {%- if is_incremental() %}
    left join {{ facts }}
        on {{ contacts }}.contact_id = {{ facts }}.contact_id
    {%- endif %}
    cross join {{ as_of }}
    {%- if inputs_fingerprint %}
    cross join {{ inputs_fingerprint }}
    {%- endif %}
{%- endmacro %}


{% macro crm_timestamp_literal(moment) -%}
    cast('{{ moment.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- The row set (for crm_fingerprint) that decides each staged ticket's category: the seed
    ticket_category_map, which stg_crm__support_tickets reads. A table that counts tickets by
    category keeps it in its fingerprint, since a label mapped anew rechecks no ticket. -#}
{% macro crm_ticket_category_inputs() -%}
    {{ return([ref('ticket_category_map'), ['crm_category_label', 'canonical_category']]) }}
{%- endmacro %}
