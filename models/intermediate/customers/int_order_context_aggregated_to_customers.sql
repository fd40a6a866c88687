{#- What surrounds each purchase, per buyer: orders prompted by research (an engagement
    touch or a ticket in the var prompt_lookback_days before the order) and complaints
    soon after a purchase (within var distrust_window_days), up to the evaluation date.

    Incremental (DuckDB, PostgreSQL), like int_orders_aggregated_to_customers: a build
    aggregates again only the buyers in crm_buyers_to_reaggregate, the contacts of the touches
    and tickets staging rechecked since the last build, and the contacts with a complaint the
    evaluation date's move let in or out; every contact when a var it reads or the seed
    ticket_category_map changes (the staged tickets take their category from it, so a label
    mapped anew makes other tickets complaints without any ticket being rechecked). A contact
    left with nothing to count is deleted by the post-hook. Spark rebuilds the table each run.
    After changing this model's SQL, build it with --full-refresh. -#}
-- depends_on: {{ ref('int_orders_priced') }}
-- depends_on: {{ ref('base_crm__orders') }}
-- depends_on: {{ ref('base_crm__marketing_touches') }}
-- depends_on: {{ ref('base_crm__support_tickets') }}
{{ crm_incremental_per_contact_config('prompted_orders') }}

with as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

rule_inputs as (

    select {{ crm_fingerprint(
        [crm_ticket_category_inputs()],
        settings=['prompt_lookback_days', 'distrust_window_days'],
    ) }} as fingerprint

),

{% if is_incremental() -%}
since_last_build as (

    {{ crm_since_last_build(this, 'as_of', inputs_fingerprint='rule_inputs') }}

),

contacts_to_reaggregate as (

    {{ crm_buyers_to_reaggregate(this, 'since_last_build') }}
    union
    {{ crm_contacts_rechecked_since(ref('base_crm__marketing_touches'), 'since_last_build') }}
    union
    {{ crm_contacts_rechecked_since(ref('base_crm__support_tickets'), 'since_last_build') }}
    union
    {{ crm_contacts_of_changed_rows(
        ref('stg_crm__support_tickets'), 'since_last_build',
        dated='cast(changed.opened_at as date)', only_when="changed.ticket_category = 'complaint'",
    ) }}

),

{% endif -%}
orders as (

    select
        order_id,
        contact_id,
        ordered_on
    from {{ ref('int_orders_enriched') }}
    where is_paid
    {%- if is_incremental() %}
        and contact_id in (select contact_id from contacts_to_reaggregate)
    {%- endif %}

),

interactions as (

    select
        contact_id,
        cast(touched_at as date) as interaction_on
    from {{ ref('stg_crm__marketing_touches') }}
    where is_engagement
    union all
    select
        contact_id,
        cast(opened_at as date) as interaction_on
    from {{ ref('stg_crm__support_tickets') }}

),

complaints as (

    select
        tickets.ticket_id,
        tickets.contact_id,
        cast(tickets.opened_at as date) as opened_on
    from {{ ref('stg_crm__support_tickets') }} as tickets
    cross join as_of
    where
        tickets.ticket_category = 'complaint'
        and cast(tickets.opened_at as date) <= as_of.as_of_date

),

prompted_orders as (

    select
        orders.contact_id,
        orders.order_id
    from orders
    inner join interactions
        on
            orders.contact_id = interactions.contact_id
            and orders.ordered_on >= interactions.interaction_on
            and interactions.interaction_on
            >= {{ dbt.dateadd('day', -var('prompt_lookback_days'), 'orders.ordered_on') }}
    group by orders.contact_id, orders.order_id

),

complaints_after_purchase as (

    select
        complaints.contact_id,
        complaints.ticket_id
    from complaints
    inner join orders
        on
            complaints.contact_id = orders.contact_id
            and complaints.opened_on >= orders.ordered_on
            and complaints.opened_on
            <= {{ dbt.dateadd('day', var('distrust_window_days'), 'orders.ordered_on') }}
    group by complaints.contact_id, complaints.ticket_id

),

per_contact as (

    select
        contact_id,
        count(*) as prompted_orders,
        0 as complaints_soon_after_purchase
    from prompted_orders
    group by contact_id
    union all
    select
        contact_id,
        0 as prompted_orders,
        count(*) as complaints_soon_after_purchase
    from complaints_after_purchase
    group by contact_id

),

per_buyer as (

    select
        contact_id,
        {{ crm_sum_whole('prompted_orders') }} as prompted_orders,
        {{ crm_sum_whole('complaints_soon_after_purchase') }} as complaints_soon_after_purchase
    from per_contact
    group by contact_id

)

{{ crm_select_aggregated(
    'per_buyer',
    ['prompted_orders', 'complaints_soon_after_purchase'],
    'contacts_to_reaggregate',
    inputs_fingerprint='rule_inputs',
) }}
