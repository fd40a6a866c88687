-- The lifecycle funnel counts every external contact once, and the strategy worklist
-- holds every contact once with ranks 1..n within each strategy.
with customers as (

    select * from {{ ref('customers') }}

),

funnel as (

    select
        sum(contacts) as funnel_contacts,
        max(contacts_reached) as reached_first_stage
    from {{ ref('lifecycle_funnel') }}

),

worklist as (

    select
        strategy,
        count(*) as contacts,
        count(distinct strategy_rank) as ranks,
        max(strategy_rank) as last_rank
    from {{ ref('strategy_worklist') }}
    group by strategy

),

mart_strategies as (

    select
        strategy,
        count(*) as contacts
    from customers
    group by strategy

)

select
    'funnel' as check_name,
    funnel.funnel_contacts as got,
    count(*) as expected
from customers
cross join funnel
where not customers.is_internal
group by funnel.funnel_contacts, funnel.reached_first_stage
having funnel.funnel_contacts != count(*) or funnel.reached_first_stage != count(*)

union all

select
    'worklist ' || coalesce(worklist.strategy, mart_strategies.strategy) as check_name,
    worklist.contacts as got,
    mart_strategies.contacts as expected
from worklist
full outer join mart_strategies
    on worklist.strategy = mart_strategies.strategy
where
    worklist.strategy is null
    or mart_strategies.strategy is null
    or worklist.contacts != mart_strategies.contacts
    or worklist.ranks != worklist.contacts
    or worklist.last_rank != worklist.contacts
