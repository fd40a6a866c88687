{#- Paying behaviour per contact: lateness and what is still owed past due, as of the
    evaluation date. An invoice is late when its last payment came after the due date, or
    when it is past due and not fully paid.

    Incremental (DuckDB, PostgreSQL): a build aggregates again only the contacts whose facts
    may differ from a rebuild's, and keeps the rest:
    - the contacts of the invoices staging rechecked since the last build, and of the
      invoices of the payments it rechecked (a payment moved to another invoice rechecks both
      versions of its key, so both invoices' contacts come in);
    - when the evaluation date moved: the contacts with an invoice or a payment dated in the
      days it crossed, and the contacts with an open invoice (not fully paid when the table
      was built, `open_invoices`): its days past due count up to the date, and its due date
      may be crossed. A contact whose invoices were all paid keeps the same facts however far
      the date moves on, until a payment or an invoice dated after it comes in, which the
      first two rules catch;
    - everyone, when the date went back or a currency rate changed (their fingerprint is kept
      on every row).
    A contact left with no invoice up to the evaluation date is deleted by the post-hook.
    Spark rebuilds the table each run. After changing this model's SQL, build it with
    --full-refresh. -#}
-- depends_on: {{ ref('base_crm__invoices') }}
-- depends_on: {{ ref('base_crm__payments') }}
{{ crm_incremental_per_contact_config('invoices') }}

with invoices as (

    select * from {{ ref('stg_crm__invoices') }}

),

payments as (

    select * from {{ ref('stg_crm__payments') }}

),

as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

rates as (

    select * from {{ ref('currency_rates') }}

),

rates_fingerprint as (

    select {{ crm_fingerprint([['rates', ['currency', 'rate_to_reporting_currency']]]) }}
        as fingerprint

),

{% if is_incremental() -%}
since_last_build as (

    {{ crm_since_last_build(this, 'as_of', inputs_fingerprint='rates_fingerprint') }}

),

invoices_of_changed_payments as (

    select rechecked.invoice_id
    from {{ ref('base_crm__payments') }} as rechecked
    cross join since_last_build
    where rechecked._checked_at > since_last_build.aggregated_at
    union
    select staged.invoice_id
    from {{ ref('stg_crm__payments') }} as staged
    cross join since_last_build
    where {{ crm_crossed_by_date_move('staged.paid_on', 'since_last_build') }}

),

{#- The staged invoices and payments are read here by their ref, not through the CTEs above,
    which DuckDB would then hold whole (9M rows each at 1M contacts) for their two readers.
    The rules are separate branches of the union so that each is a filter or a semi join on
    a small key set, not one mark join over every invoice. #}
contacts_to_reaggregate as (

    {{ crm_contacts_rechecked_since(ref('base_crm__invoices'), 'since_last_build') }}
    union
    select staged.contact_id
    from {{ ref('stg_crm__invoices') }} as staged
    where staged.invoice_id in (select invoice_id from invoices_of_changed_payments)
    union
    {{ crm_contacts_of_changed_rows(
        ref('stg_crm__invoices'), 'since_last_build', dated='changed.invoiced_on',
    ) }}
    union
    {{ crm_contacts_of_changed_rows(
        this, 'since_last_build',
        changed_when='changed.open_invoices > 0 and since_last_build.moved_to > since_last_build.moved_from',
    ) }}

),

{% endif -%}
invoices_to_aggregate as (

    select
        invoices.invoice_id,
        invoices.contact_id,
        invoices.due_on,
        invoices.amount,
        invoices.currency
    from invoices
    cross join as_of
    where invoices.invoiced_on <= as_of.as_of_date
    {%- if is_incremental() %}
        and invoices.contact_id in (select contact_id from contacts_to_reaggregate)
    {%- endif %}

),

payments_per_invoice as (

    select
        payments.invoice_id,
        sum(payments.amount) as paid_amount,
        max(payments.paid_on) as last_paid_on
    from payments
    cross join as_of
    where payments.paid_on <= as_of.as_of_date
    {%- if is_incremental() %}
        and payments.invoice_id in (select invoice_id from invoices_to_aggregate)
    {%- endif %}
    group by payments.invoice_id

),

invoice_status as (

    select
        invoices.invoice_id,
        invoices.contact_id,
        invoices.due_on,
        {{ crm_in_reporting_currency('invoices.amount', 'rates.rate_to_reporting_currency') }} as amount,
        {{ crm_in_reporting_currency('coalesce(payments_per_invoice.paid_amount, 0)', 'rates.rate_to_reporting_currency') }}
            as paid_amount,
        coalesce(payments_per_invoice.paid_amount, 0) >= invoices.amount as is_fully_paid,
        payments_per_invoice.last_paid_on,
        as_of.as_of_date
    from invoices_to_aggregate as invoices
    cross join as_of
    left join payments_per_invoice
        on invoices.invoice_id = payments_per_invoice.invoice_id
    left join rates
        on invoices.currency = rates.currency

),

lateness as (

    select
        *,
        case
            when is_fully_paid and last_paid_on > due_on
                then {{ crm_days_between('due_on', 'last_paid_on') }}
            when not is_fully_paid and as_of_date > due_on
                then {{ crm_days_between('due_on', 'as_of_date') }}
            else 0
        end as days_past_due,
        case
            when not is_fully_paid and as_of_date > due_on then amount - paid_amount
            else 0
        end as amount_unpaid_past_due
    from invoice_status

),

invoices_per_contact as (

    select
        contact_id,
        count(*) as invoices,
        avg(days_past_due) as average_days_past_due,
        max(days_past_due) as max_days_past_due,
        count(case when days_past_due > 0 then 1 end) as late_invoices,
        {{ crm_safe_divide('count(case when days_past_due > 0 then 1 end)', 'count(*)') }}
            as late_invoice_share,
        {{ crm_money('sum(amount_unpaid_past_due)') }} as amount_unpaid_past_due,
        -- the invoices whose lateness still moves with the date (see above)
        count(case when not is_fully_paid then 1 end) as open_invoices
    from lateness
    group by contact_id

)

{{ crm_select_aggregated(
    'invoices_per_contact',
    [
        'invoices', 'average_days_past_due', 'max_days_past_due', 'late_invoices',
        'late_invoice_share', 'amount_unpaid_past_due', 'open_invoices',
    ],
    'contacts_to_reaggregate',
    inputs_fingerprint='rates_fingerprint',
) }}
