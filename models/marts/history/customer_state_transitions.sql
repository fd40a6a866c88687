{#- Who moved where between consecutive refreshes of the state history: for lifecycle
    stage, activity status, relationship rung, value tier and strategy, the contacts per
    (from value, to value) between each as_of_date and the next one in the history.
    from_value is null for contacts new at the later date, to_value null for contacts gone
    from it; a null classification (no tier for a prospect) is 'none'. -#}
{%- set dimensions = ['lifecycle_stage', 'activity_status', 'relationship_rung', 'value_tier', 'strategy'] -%}

with history as (

    select * from {{ ref('customer_state_history') }}

),

refreshes as (

    select distinct as_of_date from history

),

consecutive as (

    select
        lag(as_of_date) over (order by as_of_date) as from_as_of_date,
        as_of_date as to_as_of_date
    from refreshes

),

pairs as (

    select * from consecutive
    where from_as_of_date is not null

),

earlier as (

    select
        pairs.from_as_of_date,
        pairs.to_as_of_date,
        history.*
    from pairs
    inner join history
        on pairs.from_as_of_date = history.as_of_date

),

later as (

    select
        pairs.from_as_of_date,
        pairs.to_as_of_date,
        history.*
    from pairs
    inner join history
        on pairs.to_as_of_date = history.as_of_date

),

moves as (

    select
        coalesce(later.from_as_of_date, earlier.from_as_of_date) as from_as_of_date,
        coalesce(later.to_as_of_date, earlier.to_as_of_date) as to_as_of_date,
        earlier.contact_id is not null as in_from,
        later.contact_id is not null as in_to,
        {%- for dimension in dimensions %}
        earlier.{{ dimension }} as from_{{ dimension }},
        later.{{ dimension }} as to_{{ dimension }},
        {%- endfor %}
        earlier.relationship_rung_order as from_relationship_rung_order,
        later.relationship_rung_order as to_relationship_rung_order
    from later
    full outer join earlier
        on
            later.to_as_of_date = earlier.to_as_of_date
            and later.contact_id = earlier.contact_id

),

counted as (
    {%- for dimension in dimensions %}

    select
        '{{ dimension }}' as dimension,
        from_as_of_date,
        to_as_of_date,
        case when in_from then {{ crm_segment_value('from_' ~ dimension) }} end as from_value,
        case when in_to then {{ crm_segment_value('to_' ~ dimension) }} end as to_value,
        {%- if dimension == 'relationship_rung' %}
        min(from_relationship_rung_order) as from_position,
        min(to_relationship_rung_order) as to_position,
        {%- elif dimension in crm_value_orders() %}
        min({{ crm_value_position(dimension, 'from_' ~ dimension, '0') }}) as from_position,
        min({{ crm_value_position(dimension, 'to_' ~ dimension, '0') }}) as to_position,
        {%- else %}
        cast(null as {{ dbt.type_int() }}) as from_position,
        cast(null as {{ dbt.type_int() }}) as to_position,
        {%- endif %}
        count(*) as contacts
    from moves
    group by
        from_as_of_date,
        to_as_of_date,
        case when in_from then {{ crm_segment_value('from_' ~ dimension) }} end,
        case when in_to then {{ crm_segment_value('to_' ~ dimension) }} end
    {{ "union all" if not loop.last }}
    {%- endfor %}

),

final as (

    select
        dimension,
        from_as_of_date,
        to_as_of_date,
        from_value,
        to_value,
        case
            when from_value is null then 'new'
            when to_value is null then 'gone'
            when from_value = to_value then 'unchanged'
            when to_position > from_position then 'up'
            when to_position < from_position then 'down'
            else 'changed'
        end as movement,
        contacts
    from counted

)

{{ crm_cast_to_contract('final') }}
