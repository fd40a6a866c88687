-- Fan-out guard: the customer mart holds exactly the staged contacts created up to the
-- evaluation date, each once. Returns contacts missing from one side or duplicated.
with staged as (

    select contacts.contact_id
    from {{ ref('stg_crm__contacts') }} as contacts
    cross join {{ ref('int_as_of_date') }} as as_of
    where cast(contacts.created_at as date) <= as_of.as_of_date

),

mart as (

    select
        contact_id,
        count(*) as mart_rows
    from {{ ref('customers') }}
    group by contact_id

)

select
    coalesce(staged.contact_id, mart.contact_id) as contact_id,
    coalesce(mart.mart_rows, 0) as mart_rows
from staged
full outer join mart
    on staged.contact_id = mart.contact_id
where staged.contact_id is null or mart.contact_id is null or mart.mart_rows <> 1
