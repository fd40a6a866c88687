{#- The priced orders placed up to the evaluation date: what every customer aggregate reads.
    A view, so that moving the evaluation date never rewrites the priced orders. -#}
{{ config(materialized='view') }}

select priced.*
from {{ ref('int_orders_priced') }} as priced
cross join {{ ref('int_as_of_date') }} as as_of
where priced.ordered_on <= as_of.as_of_date
