{#- What the value model knows about each customer at the evaluation date, in the form
    the buy-till-you-die models take (Fader, Hardie & Lee 2005): one row per contact with
    a paid order, purchases of one day merged into one purchase day.
      x        repeat_purchase_count: purchase days after the first one
      t_x      weeks from the first to the last purchase day (0 when x = 0)
      T        weeks from the first purchase day to the evaluation date
      monetary mean net revenue of the repeat purchase days (the first one is excluded,
               as the Gamma-Gamma model requires; null when x = 0)
    scripts/fit_value_model.py fits the models on these rows; the scoring models score them.
    Day counts are kept beside the weeks: they are the exact keys the scoring groups by. -#}
with paid_orders as (

    select
        contact_id,
        ordered_on,
        net_revenue
    from {{ ref('int_orders_enriched') }}
    where is_paid

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

contacts as (

    select
        contact_id,
        is_internal
    from {{ ref('stg_crm__contacts') }}

),

purchase_days as (

    select
        contact_id,
        ordered_on as purchased_on,
        sum(net_revenue) as purchase_day_value
    from paid_orders
    group by contact_id, ordered_on

),

purchase_span as (

    select
        contact_id,
        min(purchased_on) as first_purchase_date,
        max(purchased_on) as last_purchase_date,
        count(*) as purchase_day_count
    from purchase_days
    group by contact_id

),

repeat_purchase_value as (

    select
        purchase_days.contact_id,
        avg(purchase_days.purchase_day_value) as mean_repeat_purchase_value
    from purchase_days
    inner join purchase_span
        on purchase_days.contact_id = purchase_span.contact_id
    where purchase_days.purchased_on > purchase_span.first_purchase_date
    group by purchase_days.contact_id

),

summarised as (

    select
        purchase_span.contact_id,
        as_of.as_of_date,
        purchase_span.first_purchase_date,
        purchase_span.last_purchase_date,
        purchase_span.purchase_day_count - 1 as repeat_purchase_count,
        {{ crm_days_between('purchase_span.first_purchase_date', 'purchase_span.last_purchase_date') }}
            as days_first_to_last_purchase,
        {{ crm_days_between('purchase_span.first_purchase_date', 'as_of.as_of_date') }}
            as days_first_purchase_to_as_of,
        {{ value_model_as_double('repeat_purchase_value.mean_repeat_purchase_value') }}
            as mean_repeat_purchase_value,
        coalesce(contacts.is_internal, false) as is_internal
    from purchase_span
    cross join as_of
    left join repeat_purchase_value
        on purchase_span.contact_id = repeat_purchase_value.contact_id
    left join contacts
        on purchase_span.contact_id = contacts.contact_id

)

select
    contact_id,
    as_of_date,
    first_purchase_date,
    last_purchase_date,
    cast(repeat_purchase_count as {{ dbt.type_bigint() }}) as repeat_purchase_count,
    cast(days_first_to_last_purchase as {{ dbt.type_bigint() }}) as days_first_to_last_purchase,
    cast(days_first_purchase_to_as_of as {{ dbt.type_bigint() }}) as days_first_purchase_to_as_of,
    {{ value_model_as_double('days_first_to_last_purchase') }} / 7 as weeks_first_to_last_purchase,
    {{ value_model_as_double('days_first_purchase_to_as_of') }} / 7 as weeks_first_purchase_to_as_of,
    mean_repeat_purchase_value,
    is_internal,
    -- Employees and internal departments buy on other terms (doc 002): they are scored
    -- but not used to fit the population's parameters.
    not is_internal as is_used_for_fitting
from summarised
