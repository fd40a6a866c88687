{#- One row per contact known at the evaluation date: who they are and every fact that comes
    from their orders (buying, value, profitability, RFM). int_customers_facts adds the other
    fact families. The join is in two models because at a million contacts one query holding
    the hash tables of all eleven fact families needs more than 1.5 GB that DuckDB cannot
    spill, which failed refreshes under the default 2 GB bound; two halves pass under 1.2 GB
    (docs/decisions.md). Each family is aggregated to the contact before, so no join here can
    multiply rows. -#}
with contacts as (

    select
        contacts.*,
        as_of.as_of_date
    from {{ ref('stg_crm__contacts') }} as contacts
    cross join {{ ref('int_as_of_date') }} as as_of
    where {{ crm_contact_exists_on('contacts.created_at', 'as_of.as_of_date') }}

),

buying as (select * from {{ ref('int_orders_aggregated_to_customers') }}),

received as (select * from {{ ref('int_orders_aggregated_to_consumers') }}),

breadth as (select * from {{ ref('int_order_lines_aggregated_to_customers') }}),

context as (select * from {{ ref('int_order_context_aggregated_to_customers') }}),

profitability as (select * from {{ ref('int_customers_profitability') }}),

rfm as (select * from {{ ref('int_customers_rfm_scored') }}),

assembled as (

    select
        -- who
        contacts.contact_id,
        contacts.as_of_date,
        contacts.account_type,
        contacts.is_internal,
        coalesce(buying.paid_orders, 0) = 0 as is_prospect,
        coalesce(buying.paid_orders, 0) > 0 and not contacts.is_internal as is_kpi_customer,
        contacts.is_reference_customer,
        contacts.company_name,
        contacts.industry,
        {{ crm_age_band('contacts.birth_date', 'contacts.as_of_date') }} as age_band,
        contacts.gender,
        contacts.income_band,
        contacts.country_code,
        contacts.country_name,
        contacts.macro_region,
        contacts.region,
        contacts.city,
        cast(contacts.created_at as date) as created_on,

        -- acquisition
        contacts.acquisition_channel,
        contacts.acquisition_campaign_id,
        profitability.acquisition_cost,

        -- buying
        buying.first_order_date,
        buying.last_order_date,
        {{ crm_days_between('buying.first_order_date', 'contacts.as_of_date') }} as tenure_days,
        coalesce(buying.paid_orders, 0) as paid_orders,
        coalesce(buying.paid_orders_last_12_months, 0) as paid_orders_last_12_months,
        coalesce(buying.paid_orders_prior_12_months, 0) as paid_orders_prior_12_months,
        coalesce(buying.distinct_purchase_days, 0) as distinct_purchase_days,
        coalesce(buying.units, 0) as units,
        coalesce(buying.premium_units, 0) as premium_units,
        coalesce(breadth.distinct_categories, 0) as distinct_categories,
        coalesce(breadth.distinct_products, 0) as distinct_products,
        coalesce(breadth.newest_technology_units, 0) as newest_technology_units,
        coalesce(breadth.cheap_units, 0) as cheap_units,
        coalesce(breadth.service_units, 0) as service_units,
        coalesce(context.prompted_orders, 0) as prompted_orders,
        coalesce(context.complaints_soon_after_purchase, 0) as complaints_soon_after_purchase,
        buying.average_order_value,
        buying.mean_days_between_purchases,
        buying.latest_purchase_gap,
        buying.mean_days_between_earlier_purchases,
        buying.purchase_gap_cv,
        buying.discounted_order_share,
        coalesce(buying.single_item_orders, 0) as single_item_orders,
        coalesce(buying.gift_orders_bought, 0) as gift_orders_bought,
        coalesce(received.orders_received_as_consumer, 0) as orders_received_as_consumer,
        coalesce(buying.cancelled_orders, 0) as cancelled_orders,
        coalesce(buying.returned_orders, 0) as returned_orders,

        -- value
        coalesce(buying.gross_revenue, 0) as gross_revenue,
        coalesce(buying.discounts, 0) as discounts,
        coalesce(buying.refunds, 0) as refunds,
        coalesce(buying.net_revenue, 0) as net_revenue,
        coalesce(buying.cost_of_goods, 0) as cost_of_goods,
        profitability.gross_margin,
        profitability.support_cost,
        profitability.order_handling_cost,
        profitability.returns_handling_cost,
        profitability.collection_cost,
        profitability.cost_to_serve,
        profitability.profit,
        profitability.profit_rank,
        profitability.profit_share,
        profitability.cumulative_profit_share,

        -- rfm
        rfm.recency_days,
        rfm.frequency as rfm_frequency,
        rfm.monetary as rfm_monetary,
        rfm.recency_score,
        rfm.frequency_score,
        rfm.monetary_score,
        rfm.rfm_segment
    from contacts
    left join buying
        on contacts.contact_id = buying.contact_id
    left join received
        on contacts.contact_id = received.contact_id
    left join breadth
        on contacts.contact_id = breadth.contact_id
    left join context
        on contacts.contact_id = context.contact_id
    left join profitability
        on contacts.contact_id = profitability.contact_id
    left join rfm
        on contacts.contact_id = rfm.contact_id

)

select * from assembled
