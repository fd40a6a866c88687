{#- Service interactions per contact up to the evaluation date: volume by canonical
    category, effort, urgency, timing and the support cost they caused.

    Incremental (DuckDB, PostgreSQL): a build counts again only the contacts whose facts may
    differ from a rebuild's, and keeps the rest:
    - the contacts of the tickets staging rechecked since the last build;
    - the buyers in crm_buyers_to_reaggregate (a ticket counts as before the first purchase
      by the contact's first order date, which only their orders change);
    - the contacts with a ticket dated in the days the evaluation date's move crossed, at the
      date itself or 30 days before it (the last-30-days minutes);
    - everyone, when the date went back, or the support-minute rates, the business-hour vars
      or the seed ticket_category_map changed (their fingerprint is kept on every row).
    A contact left with no ticket is deleted by the post-hook. Spark rebuilds the table each
    run. After changing this model's SQL, build it with --full-refresh. -#}
-- depends_on: {{ ref('int_orders_priced') }}
-- depends_on: {{ ref('base_crm__orders') }}
-- depends_on: {{ ref('base_crm__support_tickets') }}
{%- set categories = [
    'question', 'complaint', 'document_request', 'escalation', 'price_negotiation',
    'out_of_catalogue_request', 'suggestion', 'billing', 'other'
] -%}
{%- set category_columns = [] -%}
{%- for category in categories -%}
{%- do category_columns.append(category ~ '_tickets') -%}
{%- endfor -%}
{%- set recent_days = 30 -%}
{{ crm_incremental_per_contact_config('tickets') }}

with tickets as (

    select * from {{ ref('stg_crm__support_tickets') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

first_orders as (

    select
        contact_id,
        first_order_date
    from {{ ref('int_orders_aggregated_to_customers') }}

),

minute_rates as (

    select
        channel,
        rate
    from {{ ref('cost_rates') }}
    where cost_item = 'support_minute'

),

rule_inputs as (

    select {{ crm_fingerprint(
        [
            ['minute_rates', ['channel', 'rate']],
            crm_ticket_category_inputs(),
        ],
        settings=['business_hours_start', 'business_hours_end'],
    ) }} as fingerprint

),

{% if is_incremental() -%}
since_last_build as (

    {{ crm_since_last_build(this, 'as_of', inputs_fingerprint='rule_inputs') }}

),

contacts_to_reaggregate as (

    {{ crm_contacts_rechecked_since(ref('base_crm__support_tickets'), 'since_last_build') }}
    union
    {{ crm_buyers_to_reaggregate(this, 'since_last_build') }}
    union
    {{ crm_contacts_of_changed_rows(
        ref('stg_crm__support_tickets'), 'since_last_build',
        dated='cast(changed.opened_at as date)', window_days=[recent_days],
    ) }}

),

{% endif -%}
tickets_in_scope as (

    select
        tickets.*,
        minute_rates.rate * tickets.handling_minutes as support_cost,
        {{ crm_is_outside_business_hours('tickets.opened_at') }} as is_outside_business_hours,
        cast(tickets.opened_at as date) > {{ dbt.dateadd('day', -recent_days, 'as_of.as_of_date') }} as is_last_30_days,
        tickets.is_pre_purchase
        or first_orders.first_order_date is null
        or cast(tickets.opened_at as date) < first_orders.first_order_date as is_before_first_purchase
    from tickets
    cross join as_of
    left join first_orders
        on tickets.contact_id = first_orders.contact_id
    left join minute_rates
        on tickets.channel = minute_rates.channel
    where cast(tickets.opened_at as date) <= as_of.as_of_date
    {%- if is_incremental() %}
        and tickets.contact_id in (select contact_id from contacts_to_reaggregate)
    {%- endif %}

),

tickets_per_contact as (

    select
        contact_id,
        count(*) as tickets,
        {%- for category in categories %}
        count(case when ticket_category = '{{ category }}' then 1 end) as {{ category }}_tickets,
        {%- endfor %}
        {{ crm_money('sum(handling_minutes)') }} as support_minutes,
        {{ crm_money('sum(case when is_last_30_days then handling_minutes else 0 end)') }}
            as support_minutes_last_30_days,
        {{ crm_money('sum(coalesce(support_cost, 0))') }} as support_cost,
        {{ crm_safe_divide('count(case when is_urgent then 1 end)', 'count(*)') }} as urgent_ticket_share,
        {{ crm_safe_divide('count(case when is_outside_business_hours then 1 end)', 'count(*)') }}
            as outside_business_hours_share,
        {{ crm_safe_divide('sum(clarification_round_trips)', 'count(*)') }} as clarification_round_trips_per_ticket,
        count(
            case when ticket_category = 'question' and is_before_first_purchase then 1 end
        ) as questions_before_first_purchase,
        max(cast(opened_at as date)) as last_ticket_date
    from tickets_in_scope
    group by contact_id

)

{{ crm_select_aggregated(
    'tickets_per_contact',
    ['tickets'] + category_columns + [
        'support_minutes', 'support_minutes_last_30_days', 'support_cost', 'urgent_ticket_share',
        'outside_business_hours_share', 'clarification_round_trips_per_ticket',
        'questions_before_first_purchase', 'last_ticket_date',
    ],
    'contacts_to_reaggregate',
    inputs_fingerprint='rule_inputs',
) }}
