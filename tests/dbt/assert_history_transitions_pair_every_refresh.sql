-- Every dimension has transitions for every pair of consecutive dates in the history
-- (refreshes - 1 later dates), and none when the history holds a single date.
with refreshes as (

    select count(distinct as_of_date) as refreshes
    from {{ ref('customer_state_history') }}

),

dimensions as (

    select
        dimension,
        count(distinct to_as_of_date) as later_dates
    from {{ ref('customer_state_transitions') }}
    group by dimension

),

expected as (
    {%- for dimension in ['lifecycle_stage', 'activity_status', 'relationship_rung', 'value_tier', 'strategy'] %}
    select '{{ dimension }}' as dimension{{ " union all" if not loop.last }}
    {%- endfor %}
)

select
    expected.dimension,
    refreshes.refreshes,
    coalesce(dimensions.later_dates, 0) as later_dates
from expected
cross join refreshes
left join dimensions
    on expected.dimension = dimensions.dimension
where coalesce(dimensions.later_dates, 0) != greatest(refreshes.refreshes - 1, 0)
