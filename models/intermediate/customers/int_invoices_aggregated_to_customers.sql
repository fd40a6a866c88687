{#- Paying behaviour per contact: lateness and what is still owed past due, as of the
    evaluation date. An invoice is late when its last payment came after the due date, or
    when it is past due and not fully paid. -#}
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

payments_per_invoice as (

    select
        payments.invoice_id,
        sum(payments.amount) as paid_amount,
        max(payments.paid_on) as last_paid_on
    from payments
    cross join as_of
    where payments.paid_on <= as_of.as_of_date
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
    from invoices
    cross join as_of
    left join payments_per_invoice
        on invoices.invoice_id = payments_per_invoice.invoice_id
    left join rates
        on invoices.currency = rates.currency
    where invoices.invoiced_on <= as_of.as_of_date

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

)

select
    contact_id,
    count(*) as invoices,
    avg(days_past_due) as average_days_past_due,
    max(days_past_due) as max_days_past_due,
    count(case when days_past_due > 0 then 1 end) as late_invoices,
    {{ crm_safe_divide('count(case when days_past_due > 0 then 1 end)', 'count(*)') }}
        as late_invoice_share,
    {{ crm_money('sum(amount_unpaid_past_due)') }} as amount_unpaid_past_due
from lateness
group by contact_id
