{#- Segment marts and state history: the segment rule and the value orders live here once. -#}

{#- Progress order of the ordered classifications, lowest first. The relationship ladder's
    order is not repeated here: it is the seed relationship_rungs (relationship_rung_order).
    Values outside a list (and 'none', a null in the mart) sort after it in segments and
    count as below it in transitions. -#}
{% macro crm_value_orders() -%}
    {{ return({
        'lifecycle_stage': ['reaching', 'acquisition', 'conversion', 'retention', 'inspiration'],
        'value_tier': ['lead', 'iron', 'gold', 'platinum'],
    }) }}
{%- endmacro %}

{#- Position of a value in its dimension's order (1 = first), `otherwise` when not listed. -#}
{% macro crm_value_position(dimension, value_expr, otherwise='null') -%}
    {%- set order = crm_value_orders().get(dimension) -%}
    {%- if order -%}
        case {{ value_expr }}
            {%- for value in order %}
            when '{{ value }}' then {{ loop.index }}
            {%- endfor %}
            else {{ otherwise }}
        end
    {%- else -%}
        {{ otherwise }}
    {%- endif -%}
{%- endmacro %}

{#- A share in double precision, null when the denominator is zero. -#}
{% macro crm_share(numerator, denominator) -%}
    {{ crm_safe_divide(numerator, denominator) }}
{%- endmacro %}

{#- A classification value as segment text: nulls (no tier for a prospect, no birth date)
    become 'none', so every contact is in exactly one value of a single-valued dimension. -#}
{% macro crm_segment_value(expr) -%}
    coalesce(cast({{ expr }} as {{ dbt.type_string() }}), 'none')
{%- endmacro %}

{#- The segment rollup: one row per (segment_dimension, segment_value) over the contacts of
    `source_cte` (one row per contact with contact_id, is_kpi_customer, is_prospect,
    is_internal, net_revenue, profit, predicted_clv, latest_nps_score).

    `dimensions` is a list of
      {'name': ..., 'expr': <SQL expression per contact>, 'order_expr': <optional sort>}
        a single-valued dimension: every contact is in exactly one value;
      {'name': ..., 'flags': {'<value>': '<boolean column>', ...}}
        a multi-valued dimension unnested from boolean flags: a contact is in every value
        whose flag is true, or in 'none' when no flag is.

    Contacts are counted in every segment (contacts, prospects, internal_contacts); every
    money, average and NPS measure is computed on external customers only (is_kpi_customer),
    the population of customer KPIs. Produces the CTEs segment_memberships, segment_totals
    and segments (the last one is the mart). -#}
{% macro crm_segment_rollup(source_cte, dimensions) -%}
    {%- set carried = 'contact_id, coalesce(is_kpi_customer, false) as is_kpi_customer, coalesce(is_prospect, false) as is_prospect, coalesce(is_internal, false) as is_internal, net_revenue, profit, predicted_clv, latest_nps_score' -%}
segment_memberships as (
    {%- for dimension in dimensions %}
    {%- if dimension.flags is defined %}
    {%- for value, flag in dimension.flags.items() %}

    select
        '{{ dimension.name }}' as segment_dimension,
        '{{ value }}' as segment_value,
        {{ loop.index }} as segment_order,
        false as is_exclusive,
        {{ carried }}
    from {{ source_cte }}
    where coalesce({{ flag }}, false)

    union all
    {%- endfor %}

    select
        '{{ dimension.name }}' as segment_dimension,
        'none' as segment_value,
        {{ dimension.flags | length + 1 }} as segment_order,
        false as is_exclusive,
        {{ carried }}
    from {{ source_cte }}
    where not (
        {%- for flag in dimension.flags.values() %}
        coalesce({{ flag }}, false){{ " or" if not loop.last }}
        {%- endfor %}
    )
    {%- else %}

    select
        '{{ dimension.name }}' as segment_dimension,
        {{ crm_segment_value(dimension.expr) }} as segment_value,
        {%- if dimension.order_expr is defined %}
        {{ dimension.order_expr }} as segment_order,
        {%- else %}
        {{ crm_value_position(dimension.name, crm_segment_value(dimension.expr), crm_value_orders().get(dimension.name, []) | length + 1) }} as segment_order,
        {%- endif %}
        true as is_exclusive,
        {{ carried }}
    from {{ source_cte }}
    {%- endif %}
    {{ "union all" if not loop.last }}
    {%- endfor %}

),

segment_totals as (

    select
        sum(case when coalesce(is_kpi_customer, false) then 1 else 0 end) as total_customers,
        sum(case when coalesce(is_kpi_customer, false) then net_revenue else 0 end) as total_revenue,
        sum(case when coalesce(is_kpi_customer, false) then profit else 0 end) as total_profit
    from {{ source_cte }}

),

segment_measures as (

    select
        segment_dimension,
        segment_value,
        is_exclusive,
        min(segment_order) as listed_order,
        count(*) as contacts,
        sum(case when is_kpi_customer then 1 else 0 end) as customers,
        sum(case when is_prospect then 1 else 0 end) as prospects,
        sum(case when is_internal then 1 else 0 end) as internal_contacts,
        sum(case when is_kpi_customer then net_revenue else 0 end) as revenue,
        sum(case when is_kpi_customer then profit else 0 end) as profit,
        avg(case when is_kpi_customer then net_revenue end) as average_net_revenue,
        avg(case when is_kpi_customer then profit end) as average_profit,
        sum(case when is_kpi_customer then predicted_clv end) as predicted_clv,
        avg(case when is_kpi_customer then predicted_clv end) as average_predicted_clv,
        count(case when is_kpi_customer then latest_nps_score end) as nps_respondents,
        {{ crm_net_promoter_score('case when is_kpi_customer then latest_nps_score end') }} as nps
    from segment_memberships
    group by segment_dimension, segment_value, is_exclusive

),

segments as (

    select
        segment_measures.segment_dimension,
        segment_measures.segment_value,
        coalesce(
            segment_measures.listed_order,
            row_number() over (
                partition by segment_measures.segment_dimension
                order by segment_measures.segment_value
            )
        ) as segment_order,
        segment_measures.is_exclusive,
        'external_customers' as population,
        segment_measures.contacts,
        segment_measures.customers,
        segment_measures.prospects,
        segment_measures.internal_contacts,
        segment_measures.revenue,
        segment_measures.profit,
        segment_measures.average_net_revenue,
        segment_measures.average_profit,
        segment_measures.predicted_clv,
        segment_measures.average_predicted_clv,
        segment_measures.nps_respondents,
        segment_measures.nps,
        {{ crm_share('segment_measures.customers', 'segment_totals.total_customers') }} as customer_share,
        {{ crm_share('segment_measures.revenue', 'segment_totals.total_revenue') }} as revenue_share,
        {{ crm_share('segment_measures.profit', 'segment_totals.total_profit') }} as profit_share
    from segment_measures
    cross join segment_totals

)
{%- endmacro %}
