-- The history rows of the mart's as_of_date are exactly the mart's contacts in the same
-- state: the refresh was recorded, once per contact, and nothing else was.
with customers as (

    select * from {{ ref('customers') }}

),

evaluation as (

    select max(as_of_date) as as_of_date from customers

),

history as (

    select recorded.*
    from {{ ref('customer_state_history') }} as recorded
    inner join evaluation
        on recorded.as_of_date = evaluation.as_of_date

)

select
    coalesce(customers.contact_id, history.contact_id) as contact_id,
    customers.strategy,
    history.strategy as history_strategy
from customers
full outer join history
    on customers.contact_id = history.contact_id
where
    customers.contact_id is null
    or history.contact_id is null
    or customers.lifecycle_stage != history.lifecycle_stage
    or customers.activity_status != history.activity_status
    or customers.relationship_rung != history.relationship_rung
    or coalesce(customers.value_tier, 'none') != coalesce(history.value_tier, 'none')
    or customers.strategy != history.strategy
    or abs(customers.profit - history.profit) > 0.001
