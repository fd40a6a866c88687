-- Hand-written reference for the core of the customer mart, straight from the landing files.
--
-- One DuckDB script, no dbt: the floor the project's full refresh is measured against
-- (issue 7). It applies the rules that decide these columns of main_marts.customers:
-- contact_id, is_internal, paid_orders, first/last_order_date, recency_days, net_revenue,
-- cost_of_goods, gross_margin, the cost-to-serve parts, acquisition_cost, profit, the RFM
-- scores and value_tier.
--
-- Placeholders, a name in braces, substituted by bench/reference_core.py before the script
-- runs (so braces appear nowhere else in this file):
--   contacts, products, campaigns, orders, order_lines, invoices, payments,
--   support_tickets     the landing files of one entity as a relation: every contract
--                       column as text (null when the file lacks it), _file_rank (the
--                       file's position in file-name order, the order of the loader's
--                       _source_file) and _source_row_number (the row in the file)
--   seeds               the folder of the dbt seeds (cost_rates.csv, currency_rates.csv)
--   as_of_date          evaluation date, YYYY-MM-DD
--   loaded_at           load time, YYYY-MM-DD HH:MM:SS: later dates are rejected as future
--   paid_order_statuses, tier_platinum_share, tier_gold_share   vars of dbt_project.yml
--   out                 the Parquet file written

-- Typing, as dbt's staging does on DuckDB: blank text (after trimming spaces) is missing; a
-- value that does not fit its type is null (try_cast, which ignores surrounding blanks).
create or replace temp macro txt(v) as nullif(trim(v), '');
create or replace temp macro as_bool(v) as
    case
        when lower(trim(v)) in ('true', 't', '1', 'yes', 'y') then true
        when lower(trim(v)) in ('false', 'f', '0', 'no', 'n') then false
    end;
create or replace temp macro as_dec(v) as try_cast(v as decimal(18, 4));
create or replace temp macro as_int(v) as try_cast(v as bigint);
create or replace temp macro as_date(v) as try_cast(v as date);
create or replace temp macro as_ts(v) as try_cast(v as timestamp);

-- Row rules of docs/extract_contract.yml, true when a row breaks them: missing (required
-- columns), invalid (untypable or not an allowed value), negative or out of range (min),
-- future (a date or time after the load, unless the column allows it). Each macro is one
-- column's rules, written so that the value is typed once.
create or replace temp macro req_text(v) as txt(v) is null;
create or replace temp macro req_choice(v, allowed) as
    not coalesce(list_contains(allowed, lower(trim(v))), false);
create or replace temp macro req_dec(v, minimum) as coalesce(as_dec(v) < minimum, true);
create or replace temp macro req_int(v, minimum) as coalesce(as_int(v) < minimum, true);
create or replace temp macro req_date(v) as
    coalesce(as_date(v) > cast(timestamp '{loaded_at}' as date), true);
create or replace temp macro req_date_any(v) as as_date(v) is null;
create or replace temp macro req_ts(v) as coalesce(as_ts(v) > timestamp '{loaded_at}', true);
create or replace temp macro opt_choice(v, allowed) as
    not coalesce(list_contains(allowed, lower(trim(v))), false) and txt(v) is not null;
create or replace temp macro opt_bool(v) as as_bool(v) is null and txt(v) is not null;
create or replace temp macro opt_dec(v, minimum) as
    coalesce(as_dec(v) < minimum, txt(v) is not null);
create or replace temp macro opt_int(v, minimum) as
    coalesce(as_int(v) < minimum, txt(v) is not null);
create or replace temp macro opt_date(v) as
    coalesce(as_date(v) > cast(timestamp '{loaded_at}' as date), txt(v) is not null);
create or replace temp macro opt_date_any(v) as as_date(v) is null and txt(v) is not null;
create or replace temp macro opt_ts(v) as
    coalesce(as_ts(v) > timestamp '{loaded_at}', txt(v) is not null);

copy (
    with

    -- Seeds and settings ------------------------------------------------------------------

    as_of as (select date '{as_of_date}' as as_of_date),

    currency_rates as (
        select
            currency,
            cast(rate_to_reporting_currency as decimal(18, 6)) as rate
        from read_csv('{seeds}/currency_rates.csv', header = true, all_varchar = true)
    ),

    cost_rates as (
        select
            cost_item,
            channel,
            cast(rate as decimal(18, 4)) as rate
        from read_csv('{seeds}/cost_rates.csv', header = true, all_varchar = true)
    ),

    flat_rates as (
        select
            max(case when cost_item = 'order_handling' then rate end) as order_handling,
            max(case when cost_item = 'return_handling' then rate end) as return_handling,
            max(case when cost_item = 'late_payment_collection' then rate end) as collection
        from cost_rates
    ),

    -- Staging: type every row, drop the rows that break a rule or point to a parent that is
    -- not staged (orphans), keep the latest good version of each key: highest updated_at,
    -- then latest file, then last row (one load, so the load time never decides) ---------

    contacts as materialized (
        select
            txt(contact_id) as contact_id,
            coalesce(as_bool(is_internal), false) as is_internal,
            txt(acquisition_campaign_id) as acquisition_campaign_id,
            cast(as_ts(created_at) as date) as created_on
        from {contacts}
        where not (
            req_text(contact_id)
            or req_choice(account_type, ['consumer', 'business', 'purchasing_agent'])
            or opt_bool(is_internal)
            or opt_bool(is_reference_customer)
            or opt_date(birth_date)
            or opt_choice(gender, ['female', 'male', 'other', 'unknown', 'f', 'm', 'x'])
            or opt_choice(income_band, ['low', 'lower_middle', 'middle', 'upper_middle', 'high'])
            or opt_choice(acquisition_channel, [
                'organic_search', 'paid_search', 'social', 'email', 'referral', 'events',
                'partner', 'direct', 'sales_team'
            ])
            or req_ts(created_at)
            or req_ts(updated_at)
        )
        qualify row_number() over (
            partition by txt(contact_id)
            order by as_ts(updated_at) desc nulls last, _file_rank desc, _source_row_number desc
        ) = 1
    ),

    products as materialized (
        select
            txt(product_id) as product_id,
            as_dec(unit_cost) as unit_cost
        from {products}
        where not (
            req_text(product_id)
            or req_text(product_name)
            or req_text(category)
            or req_dec(list_price, 0)
            or req_dec(unit_cost, 0)
            or opt_bool(is_premium)
            or opt_int(technology_generation, 1)
            or opt_date(launch_date)
            or req_ts(updated_at)
        )
        qualify row_number() over (
            partition by txt(product_id)
            order by as_ts(updated_at) desc nulls last, _file_rank desc, _source_row_number desc
        ) = 1
    ),

    campaigns as materialized (
        select
            txt(campaign_id) as campaign_id,
            as_dec(cost) as cost,
            upper(txt(currency)) as currency
        from {campaigns}
        where not (
            req_text(campaign_id)
            or req_text(campaign_name)
            or req_choice(channel, [
                'organic_search', 'paid_search', 'social', 'email', 'referral', 'events',
                'partner', 'direct', 'sales_team'
            ])
            or req_date(started_on)
            or opt_date_any(ended_on)
            or req_dec(cost, 0)
            or req_choice(currency, ['eur', 'pln'])
            or opt_ts(updated_at)
        )
        qualify row_number() over (
            partition by txt(campaign_id)
            order by as_ts(updated_at) desc nulls last, _file_rank desc, _source_row_number desc
        ) = 1
    ),

    orders as materialized (
        select
            txt(order_id) as order_id,
            txt(contact_id) as contact_id,
            cast(as_ts(ordered_at) as date) as ordered_on,
            lower(trim(status)) as status,
            upper(trim(currency)) as currency
        from {orders}
        where not (
            req_text(order_id)
            or req_text(contact_id)
            or opt_bool(is_gift)
            or req_ts(ordered_at)
            or req_choice(channel, ['web', 'store', 'phone', 'marketplace', 'sales_rep'])
            or req_choice(status, [
                'placed', 'paid', 'shipped', 'delivered', 'cancelled', 'returned'
            ])
            or req_choice(currency, ['eur', 'pln'])
            or req_ts(updated_at)
        )
        and txt(contact_id) in (select contact_id from contacts)
        and (
            txt(consumer_contact_id) is null
            or txt(consumer_contact_id) in (select contact_id from contacts)
        )
        qualify row_number() over (
            partition by txt(order_id)
            order by as_ts(updated_at) desc nulls last, _file_rank desc, _source_row_number desc
        ) = 1
    ),

    order_lines as materialized (
        select
            txt(order_id) as order_id,
            txt(product_id) as product_id,
            as_int(quantity) as quantity,
            as_dec(unit_price) as unit_price,
            coalesce(as_dec(discount_amount), 0) as discount_amount
        from {order_lines}
        where not (
            req_text(order_line_id)
            or req_text(order_id)
            or req_text(product_id)
            or req_int(quantity, 1)
            or req_dec(unit_price, 0)
            or opt_dec(discount_amount, 0)
            or opt_ts(updated_at)
        )
        and txt(order_id) in (select order_id from orders)
        and txt(product_id) in (select product_id from products)
        qualify row_number() over (
            partition by txt(order_line_id)
            order by as_ts(updated_at) desc nulls last, _file_rank desc, _source_row_number desc
        ) = 1
    ),

    invoices as materialized (
        select
            txt(invoice_id) as invoice_id,
            txt(contact_id) as contact_id,
            as_date(invoiced_on) as invoiced_on,
            as_date(due_on) as due_on,
            as_dec(amount) as amount
        from {invoices}
        where not (
            req_text(invoice_id)
            or req_text(contact_id)
            or req_date(invoiced_on)
            or req_date_any(due_on)
            or req_dec(amount, 0)
            or req_choice(currency, ['eur', 'pln'])
            or opt_ts(updated_at)
        )
        and txt(contact_id) in (select contact_id from contacts)
        and (txt(order_id) is null or txt(order_id) in (select order_id from orders))
        qualify row_number() over (
            partition by txt(invoice_id)
            order by as_ts(updated_at) desc nulls last, _file_rank desc, _source_row_number desc
        ) = 1
    ),

    payments as materialized (
        select
            txt(invoice_id) as invoice_id,
            as_date(paid_on) as paid_on,
            as_dec(amount) as amount
        from {payments}
        where not (
            req_text(payment_id)
            or req_text(invoice_id)
            or req_date(paid_on)
            or req_dec(amount, 0)
            or opt_choice(payment_method, ['card', 'transfer', 'cash', 'paypal', 'blik'])
            or opt_ts(updated_at)
        )
        and txt(invoice_id) in (select invoice_id from invoices)
        qualify row_number() over (
            partition by txt(payment_id)
            order by as_ts(updated_at) desc nulls last, _file_rank desc, _source_row_number desc
        ) = 1
    ),

    support_tickets as materialized (
        select
            txt(contact_id) as contact_id,
            lower(trim(channel)) as channel,
            cast(as_ts(opened_at) as date) as opened_on,
            coalesce(as_dec(handling_minutes), 0) as handling_minutes
        from {support_tickets}
        where not (
            req_text(ticket_id)
            or req_text(contact_id)
            or req_choice(channel, ['phone', 'email', 'chat', 'sms', 'in_person'])
            or req_text(category_label)
            or opt_bool(is_urgent)
            or req_ts(opened_at)
            or opt_ts(closed_at)
            or opt_dec(handling_minutes, 0)
            or opt_int(clarification_round_trips, 0)
            or opt_bool(is_pre_purchase)
            or opt_ts(updated_at)
        )
        and txt(contact_id) in (select contact_id from contacts)
        qualify row_number() over (
            partition by txt(ticket_id)
            order by as_ts(updated_at) desc nulls last, _file_rank desc, _source_row_number desc
        ) = 1
    ),

    -- Facts per contact, events up to the evaluation date --------------------------------

    order_values as (
        select
            order_lines.order_id,
            sum(order_lines.quantity * order_lines.unit_price - order_lines.discount_amount)
                as net_amount,
            sum(order_lines.quantity * products.unit_cost) as cost_of_goods
        from order_lines
        inner join products on order_lines.product_id = products.product_id
        group by order_lines.order_id
    ),

    -- A returned order is refunded in full and its goods go back to stock: it counts as a
    -- paid order (and a return) with no revenue and no cost of goods.
    orders_valued as (
        select
            orders.contact_id,
            orders.ordered_on,
            orders.status in ({paid_order_statuses}) as is_paid,
            orders.status = 'returned' as is_returned,
            coalesce(order_values.net_amount, 0) * currency_rates.rate as net_amount,
            coalesce(order_values.cost_of_goods, 0) as cost_of_goods
        from orders
        cross join as_of
        left join order_values on orders.order_id = order_values.order_id
        left join currency_rates on orders.currency = currency_rates.currency
        where orders.ordered_on <= as_of.as_of_date
    ),

    buying as (
        select
            contact_id,
            count(*) filter (where is_paid) as paid_orders,
            min(ordered_on) filter (where is_paid) as first_order_date,
            max(ordered_on) filter (where is_paid) as last_order_date,
            count(*) filter (where is_returned) as returned_orders,
            -- each contact's amounts are rounded to 4 decimals where summed, as in the warehouse
            cast(sum(case when is_paid and not is_returned then net_amount else 0 end)
                as decimal(18, 4)) as net_revenue,
            sum(case when is_paid and not is_returned then cost_of_goods else 0 end)
                as cost_of_goods
        from orders_valued
        group by contact_id
    ),

    service as (
        select
            support_tickets.contact_id,
            cast(sum(coalesce(cost_rates.rate * support_tickets.handling_minutes, 0))
                as decimal(18, 4)) as support_cost
        from support_tickets
        cross join as_of
        left join cost_rates
            on cost_rates.cost_item = 'support_minute'
            and support_tickets.channel = cost_rates.channel
        where support_tickets.opened_on <= as_of.as_of_date
        group by support_tickets.contact_id
    ),

    payments_per_invoice as (
        select
            invoice_id,
            sum(amount) as paid_amount,
            max(paid_on) as last_paid_on
        from payments
        cross join as_of
        where paid_on <= as_of.as_of_date
        group by invoice_id
    ),

    -- late: fully paid after the due date, or not fully paid and past due
    paying as (
        select
            invoices.contact_id,
            count(*) filter (
                where case
                    when coalesce(payments_per_invoice.paid_amount, 0) >= invoices.amount
                        then payments_per_invoice.last_paid_on > invoices.due_on
                    else as_of.as_of_date > invoices.due_on
                end
            ) as late_invoices
        from invoices
        cross join as_of
        left join payments_per_invoice on invoices.invoice_id = payments_per_invoice.invoice_id
        where invoices.invoiced_on <= as_of.as_of_date
        group by invoices.contact_id
    ),

    -- the contacts of the mart: known at the evaluation date
    mart_contacts as (
        select contacts.*
        from contacts
        cross join as_of
        where contacts.created_on <= as_of.as_of_date
    ),

    acquired_per_campaign as (
        select
            acquisition_campaign_id,
            count(*) as contacts_acquired
        from mart_contacts
        where acquisition_campaign_id is not null
        group by acquisition_campaign_id
    ),

    -- a campaign's cost shared equally by the contacts it acquired
    acquisition as (
        select
            mart_contacts.contact_id,
            coalesce(
                campaigns.cost * currency_rates.rate / acquired_per_campaign.contacts_acquired, 0
            ) as acquisition_cost
        from mart_contacts
        left join acquired_per_campaign
            on mart_contacts.acquisition_campaign_id = acquired_per_campaign.acquisition_campaign_id
        left join campaigns on mart_contacts.acquisition_campaign_id = campaigns.campaign_id
        left join currency_rates on campaigns.currency = currency_rates.currency
    ),

    -- Value ------------------------------------------------------------------------------

    costs as (
        select
            mart_contacts.contact_id,
            mart_contacts.is_internal,
            coalesce(buying.paid_orders, 0) as paid_orders,
            buying.first_order_date,
            buying.last_order_date,
            coalesce(buying.net_revenue, 0) as net_revenue,
            coalesce(buying.cost_of_goods, 0) as cost_of_goods,
            coalesce(buying.net_revenue - buying.cost_of_goods, 0) as gross_margin,
            coalesce(service.support_cost, 0) as support_cost,
            coalesce(buying.paid_orders, 0) * flat_rates.order_handling as order_handling_cost,
            coalesce(buying.returned_orders, 0) * flat_rates.return_handling
                as returns_handling_cost,
            coalesce(paying.late_invoices, 0) * flat_rates.collection as collection_cost,
            acquisition.acquisition_cost
        from mart_contacts
        cross join flat_rates
        left join buying on mart_contacts.contact_id = buying.contact_id
        left join service on mart_contacts.contact_id = service.contact_id
        left join paying on mart_contacts.contact_id = paying.contact_id
        left join acquisition on mart_contacts.contact_id = acquisition.contact_id
    ),

    profit as (
        select
            *,
            support_cost + order_handling_cost + returns_handling_cost + collection_cost
                as cost_to_serve,
            gross_margin
            - (support_cost + order_handling_cost + returns_handling_cost + collection_cost)
            - acquisition_cost as profit
        from costs
    ),

    -- the whale curve ranks external customers; tiers read the share of positive profit
    -- made by the customers ranked above
    ranked as (
        select
            contact_id,
            profit,
            row_number() over (order by profit desc, contact_id asc) as profit_rank
        from profit
        where paid_orders > 0 and not is_internal
    ),

    profitable as (
        select
            contact_id,
            coalesce(
                sum(profit) over (
                    order by profit_rank rows between unbounded preceding and 1 preceding
                ),
                0
            ) / sum(profit) over () as share_above
        from ranked
        where profit > 0
    ),

    tiers as (
        select
            ranked.contact_id,
            case
                when ranked.profit < 0 then 'lead'
                when profitable.share_above < {tier_platinum_share} then 'platinum'
                when profitable.share_above < {tier_gold_share} then 'gold'
                else 'iron'
            end as value_tier
        from ranked
        left join profitable on ranked.contact_id = profitable.contact_id
    ),

    -- RFM quintiles over external customers that exist on the evaluation date, ties
    -- broken by contact_id
    rfm as (
        select
            buying.contact_id,
            date_diff('day', buying.last_order_date, as_of.as_of_date) as recency_days,
            ntile(5) over (
                order by date_diff('day', buying.last_order_date, as_of.as_of_date) desc,
                buying.contact_id asc
            ) as recency_score,
            ntile(5) over (order by buying.paid_orders asc, buying.contact_id asc)
                as frequency_score,
            ntile(5) over (order by buying.net_revenue asc, buying.contact_id asc)
                as monetary_score
        from buying
        inner join contacts on buying.contact_id = contacts.contact_id
        cross join as_of
        where
            buying.paid_orders > 0
            and not contacts.is_internal
            and contacts.created_on <= as_of.as_of_date
    )

    select
        cast(profit.contact_id as varchar) as contact_id,
        profit.is_internal,
        cast(profit.paid_orders as bigint) as paid_orders,
        profit.first_order_date,
        profit.last_order_date,
        cast(rfm.recency_days as bigint) as recency_days,
        cast(profit.net_revenue as decimal(18, 4)) as net_revenue,
        cast(profit.cost_of_goods as decimal(18, 4)) as cost_of_goods,
        cast(profit.gross_margin as decimal(18, 4)) as gross_margin,
        cast(profit.support_cost as decimal(18, 4)) as support_cost,
        cast(profit.order_handling_cost as decimal(18, 4)) as order_handling_cost,
        cast(profit.returns_handling_cost as decimal(18, 4)) as returns_handling_cost,
        cast(profit.collection_cost as decimal(18, 4)) as collection_cost,
        cast(profit.acquisition_cost as decimal(18, 4)) as acquisition_cost,
        cast(profit.cost_to_serve as decimal(18, 4)) as cost_to_serve,
        cast(profit.profit as decimal(18, 4)) as profit,
        cast(rfm.recency_score as bigint) as recency_score,
        cast(rfm.frequency_score as bigint) as frequency_score,
        cast(rfm.monetary_score as bigint) as monetary_score,
        tiers.value_tier
    from profit
    left join rfm on profit.contact_id = rfm.contact_id
    left join tiers on profit.contact_id = tiers.contact_id
    order by profit.contact_id
) to '{out}' (format parquet);
