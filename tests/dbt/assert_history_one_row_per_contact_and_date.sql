-- Re-running a date replaces it: the history never holds a contact twice for one date.
select
    as_of_date,
    contact_id,
    count(*) as rows_recorded
from {{ ref('customer_state_history') }}
group by as_of_date, contact_id
having count(*) > 1
