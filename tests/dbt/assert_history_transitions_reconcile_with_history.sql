-- For every dimension and pair of consecutive dates, the transitions account for every
-- contact of both dates: the moves into a value add up to the contacts of the later date,
-- the moves out of one to the contacts of the earlier date.
with history as (

    select
        as_of_date,
        count(*) as contacts
    from {{ ref('customer_state_history') }}
    group by as_of_date

),

transitions as (

    select
        dimension,
        from_as_of_date,
        to_as_of_date,
        sum(case when to_value is not null then contacts else 0 end) as to_contacts,
        sum(case when from_value is not null then contacts else 0 end) as from_contacts
    from {{ ref('customer_state_transitions') }}
    group by dimension, from_as_of_date, to_as_of_date

)

select
    transitions.dimension,
    transitions.from_as_of_date,
    transitions.to_as_of_date,
    transitions.from_contacts,
    earlier.contacts as history_from_contacts,
    transitions.to_contacts,
    later.contacts as history_to_contacts
from transitions
left join history as earlier
    on transitions.from_as_of_date = earlier.as_of_date
left join history as later
    on transitions.to_as_of_date = later.as_of_date
where
    earlier.contacts is null
    or later.contacts is null
    or transitions.from_contacts != earlier.contacts
    or transitions.to_contacts != later.contacts
