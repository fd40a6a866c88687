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
with buyers as (

    -- purchase days, their span and the repeat days' mean value are counted per buyer,
    -- incrementally, with the other buying facts
    select
        contact_id,
        first_order_date as first_purchase_date,
        last_order_date as last_purchase_date,
        distinct_purchase_days - 1 as repeat_purchase_count,
        mean_repeat_purchase_value
    from {{ ref('int_orders_aggregated_to_customers') }}
    where paid_orders > 0

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

summarised as (

    select
        buyers.contact_id,
        as_of.as_of_date,
        buyers.first_purchase_date,
        buyers.last_purchase_date,
        buyers.repeat_purchase_count,
        {{ crm_days_between('buyers.first_purchase_date', 'buyers.last_purchase_date') }}
            as days_first_to_last_purchase,
        {{ crm_days_between('buyers.first_purchase_date', 'as_of.as_of_date') }}
            as days_first_purchase_to_as_of,
        buyers.mean_repeat_purchase_value,
        coalesce(contacts.is_internal, false) as is_internal
    from buyers
    cross join as_of
    left join contacts
        on buyers.contact_id = contacts.contact_id

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
