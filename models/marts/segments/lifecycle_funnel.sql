{#- The lifecycle funnel (doc 001): contacts per lifecycle stage in stage order, how many
    reached at least that stage, and the conversion from the stage before. Internal contacts
    are left out (they are not the market); prospects are the top of the funnel. -#}
{%- set stages = crm_value_orders()['lifecycle_stage'] -%}

with customers as (

    select * from {{ ref('customers') }}
    where not is_internal

),

evaluation as (

    select max(as_of_date) as as_of_date from {{ ref('customers') }}

),

stages as (
    {%- for stage in stages %}
    select {{ loop.index }} as stage_order, '{{ stage }}' as lifecycle_stage{{ " union all" if not loop.last }}
    {%- endfor %}
),

counted as (

    select
        stages.stage_order,
        stages.lifecycle_stage,
        count(customers.contact_id) as contacts,
        sum(case when customers.is_kpi_customer then 1 else 0 end) as customers
    from stages
    left join customers
        on stages.lifecycle_stage = customers.lifecycle_stage
    group by stages.stage_order, stages.lifecycle_stage

),

reached as (

    select
        stage_order,
        lifecycle_stage,
        contacts,
        coalesce(customers, 0) as customers,
        sum(contacts) over (
            order by stage_order desc rows between unbounded preceding and current row
        ) as contacts_reached,
        sum(contacts) over () as total_contacts
    from counted

),

final as (

    select
        evaluation.as_of_date,
        'external_contacts' as population,
        reached.stage_order,
        reached.lifecycle_stage,
        reached.contacts,
        reached.customers,
        {{ crm_share('reached.contacts', 'reached.total_contacts') }} as contact_share,
        reached.contacts_reached,
        {{ crm_share(
            'reached.contacts_reached',
            'lag(reached.contacts_reached) over (order by reached.stage_order)'
        ) }} as conversion_from_previous
    from reached
    cross join evaluation

)

{{ crm_cast_to_contract('final') }}
