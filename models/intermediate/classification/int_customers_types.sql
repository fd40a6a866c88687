{#- Customer types (doc 001) as independent flags, each with its reason, and one
    orientation. Thresholds are vars; population percentiles are taken over external
    customers (high_future_value over those the value model could score). -#}
with facts as (

    select * from {{ ref('int_customers_facts') }}

),

activity as (

    select
        contact_id,
        activity_status
    from {{ ref('int_customers_activity') }}

),

predictions as (

    select
        contact_id,
        predicted_clv
    from {{ ref('int_customers_value_predictions') }}

),

population as (

    select
        facts.contact_id,
        percent_rank() over (order by facts.units asc) as units_percentile,
        case
            when predictions.predicted_clv is not null
                then percent_rank() over (
                        partition by predictions.predicted_clv is not null
                        order by predictions.predicted_clv asc
                    )
        end as predicted_clv_percentile,
        predictions.predicted_clv
    from facts
    left join predictions
        on facts.contact_id = predictions.contact_id
    where facts.is_kpi_customer

),

-- Markets: countries, regions within them, and industries of business contacts. A market is new when its first
-- customer bought var door_opener_new_market_after_days after the company's first order.
company_start as (

    select min(first_order_date) as first_order_date from facts
    where is_kpi_customer

),

market_members as (

    select
        contact_id,
        'country ' || country_code as market,
        first_order_date
    from facts
    where is_kpi_customer and country_code is not null
    union all
    select
        contact_id,
        'region ' || country_code || '/' || region as market,
        first_order_date
    from facts
    where is_kpi_customer and country_code is not null and region is not null
    union all
    select
        contact_id,
        'industry ' || industry as market,
        first_order_date
    from facts
    where is_kpi_customer and industry is not null

),

market_openings as (

    select
        market,
        min(first_order_date) as opened_on
    from market_members
    group by market

),

door_openers as (

    select
        market_members.contact_id,
        min(market_members.market) as opened_market
    from market_members
    inner join market_openings
        on
            market_members.market = market_openings.market
            and market_members.first_order_date = market_openings.opened_on
    cross join company_start
    where market_openings.opened_on
        > {{ dbt.dateadd('day', var('door_opener_new_market_after_days'), 'company_start.first_order_date') }}
    group by market_members.contact_id

),

referred_door_openers as (

    select
        referrals.referrer_contact_id as contact_id,
        min(door_openers.opened_market) as opened_market
    from {{ ref('stg_crm__referrals') }} as referrals
    inner join door_openers
        on referrals.referred_contact_id = door_openers.contact_id
    group by referrals.referrer_contact_id

),

measures as (

    select
        facts.*,
        activity.activity_status,
        population.units_percentile,
        population.predicted_clv_percentile,
        population.predicted_clv,
        door_openers.opened_market,
        referred_door_openers.opened_market as referred_opened_market,
        {{ crm_safe_divide('facts.paid_orders - facts.prompted_orders', 'facts.paid_orders') }}
            as unprompted_order_share,
        {{ crm_safe_divide('facts.prompted_orders', 'facts.paid_orders') }} as prompted_order_share,
        {{ crm_safe_divide('facts.single_item_orders', 'facts.paid_orders') }} as single_item_share,
        {{ crm_safe_divide('facts.newest_technology_units', 'facts.units') }} as newest_technology_share,
        {{ crm_safe_divide('facts.cheap_units', 'facts.units') }} as cheap_share,
        facts.engagement_touches + facts.question_tickets as interactions
    from facts
    left join activity
        on facts.contact_id = activity.contact_id
    left join population
        on facts.contact_id = population.contact_id
    left join door_openers
        on facts.contact_id = door_openers.contact_id
    left join referred_door_openers
        on facts.contact_id = referred_door_openers.contact_id

),

flagged as (

    select
        *,
        paid_orders >= {{ var('loyal_min_orders') }}
        and activity_status in ('active', 'regained')
        and coalesce(purchase_gap_cv, 0) < {{ var('loyal_max_ipt_cv') }}
        and coalesce(discounted_order_share, 0) < {{ var('discount_min_share') }} as is_loyal,
        paid_orders >= {{ var('discount_min_orders') }}
        and discounted_order_share >= {{ var('discount_min_share') }} as is_discount,
        paid_orders >= {{ var('impulsive_min_orders') }}
        and unprompted_order_share >= {{ var('impulsive_min_unprompted_share') }}
        and single_item_share >= {{ var('impulsive_min_single_item_share') }}
        and distinct_categories >= {{ var('impulsive_min_categories') }} as is_impulsive,
        paid_orders >= {{ var('need_min_orders') }}
        and distinct_categories <= {{ var('need_max_categories') }}
        and purchase_gap_cv < {{ var('need_max_ipt_cv') }}
        and prompted_order_share >= {{ var('need_min_prompted_share') }} as is_need_oriented,
        interactions >= {{ var('wanderer_min_interactions') }}
        and interactions >= {{ var('wanderer_min_interactions_per_order') }}
        * case when paid_orders > 1 then paid_orders else 1 end as is_wanderer,
        coalesce(units_percentile >= {{ var('high_volume_min_percentile') }}, false) and units > 0
            as is_high_volume,
        coalesce(predicted_clv_percentile >= {{ var('high_future_value_min_percentile') }}, false)
            as is_high_future_value,
        referrals_made >= {{ var('benchmark_min_referrals') }} or is_reference_customer as is_benchmark,
        opened_market is not null or referred_opened_market is not null as is_door_opener,
        suggestion_tickets >= {{ var('inspiring_min_suggestions') }} as is_inspiring
    from measures

),

oriented as (

    select
        *,
        case
            when paid_orders = 0 then 'undetermined'
            when newest_technology_share >= {{ var('technology_min_newest_share') }} then 'technology'
            when discounted_order_share >= {{ var('cost_min_discount_share') }}
                or cheap_share >= {{ var('cost_min_cheap_share') }}
                or service_units = units
                then 'cost'
            else 'value'
        end as orientation
    from flagged

)

select
    contact_id,
    coalesce(is_loyal, false) as is_loyal,
    coalesce(is_discount, false) as is_discount,
    coalesce(is_impulsive, false) as is_impulsive,
    coalesce(is_need_oriented, false) as is_need_oriented,
    coalesce(is_wanderer, false) as is_wanderer,
    coalesce(is_high_volume, false) as is_high_volume,
    coalesce(is_high_future_value, false) as is_high_future_value,
    coalesce(is_benchmark, false) as is_benchmark,
    coalesce(is_door_opener, false) as is_door_opener,
    coalesce(is_inspiring, false) as is_inspiring,
    coalesce(nullif(concat_ws(
        ', ',
        case when is_loyal then 'loyal' end,
        case when is_discount then 'discount' end,
        case when is_impulsive then 'impulsive' end,
        case when is_need_oriented then 'need_oriented' end,
        case when is_wanderer then 'wanderer' end,
        case when is_high_volume then 'high_volume' end,
        case when is_high_future_value then 'high_future_value' end,
        case when is_benchmark then 'benchmark' end,
        case when is_door_opener then 'door_opener' end,
        case when is_inspiring then 'inspiring' end
    ), ''), 'none') as customer_types,
    nullif(concat_ws(
        '; ',
        case when is_loyal then
                'loyal: ' || {{ crm_fmt('paid_orders') }} || ' orders, ' || activity_status
                || ', gap CV ' || {{ crm_fmt('purchase_gap_cv', 2) }} || ', '
                || {{ crm_fmt_pct('coalesce(discounted_order_share, 0)') }} || ' discounted'
        end,
        case when is_discount then
                'discount: ' || {{ crm_fmt_pct('discounted_order_share') }} || ' of '
                || {{ crm_fmt('paid_orders') }} || ' orders discounted >= '
                || {{ crm_fmt_pct(var('discount_min_share')) }}
        end,
        case when is_impulsive then
                'impulsive: ' || {{ crm_fmt_pct('unprompted_order_share') }} || ' of orders without research, '
                || {{ crm_fmt_pct('single_item_share') }} || ' single-item, '
                || {{ crm_fmt('distinct_categories') }} || ' categories'
        end,
        case when is_need_oriented then
                'need_oriented: ' || {{ crm_fmt('distinct_categories') }} || ' categories, gap CV '
                || {{ crm_fmt('purchase_gap_cv', 2) }} || ', ' || {{ crm_fmt_pct('prompted_order_share') }}
                || ' of orders researched first'
        end,
        case when is_wanderer then
                'wanderer: ' || {{ crm_fmt('interactions') }} || ' engagements and questions for '
                || {{ crm_fmt('paid_orders') }} || ' orders'
        end,
        case when is_high_volume then
                'high_volume: ' || {{ crm_fmt('units') }} || ' units, percentile '
                || {{ crm_fmt_pct('units_percentile') }}
        end,
        case when is_high_future_value then
                'high_future_value: predicted lifetime value ' || {{ crm_fmt('predicted_clv', 2) }}
                || ', percentile ' || {{ crm_fmt_pct('predicted_clv_percentile') }}
        end,
        case when is_benchmark then
                'benchmark: ' || case
                    when is_reference_customer then 'reference customer'
                    else {{ crm_fmt('referrals_made') }} || ' referrals made'
                end
        end,
        case when is_door_opener then
                'door_opener: ' || case
                    when opened_market is not null then 'first customer of new market ' || opened_market
                    else 'referred the first customer of new market ' || referred_opened_market
                end
        end,
        case when is_inspiring then
                'inspiring: ' || {{ crm_fmt('suggestion_tickets') }} || ' suggestions'
        end
    ), '') as customer_types_reason,
    orientation,
    case orientation
        when 'undetermined' then 'undetermined: no purchases to judge by'
        when 'technology'
            then
                'technology: ' || {{ crm_fmt_pct('newest_technology_share') }}
                || ' of units are the newest technology of their category'
        when 'cost'
            then
                'cost: ' || {{ crm_fmt_pct('coalesce(discounted_order_share, 0)') }} || ' of orders discounted, '
                || {{ crm_fmt_pct('cheap_share') }} || ' of units cheap'
                || case when service_units = units then ', buys only services and repairs' else '' end
        else
            'value: ' || {{ crm_fmt_pct('coalesce(discounted_order_share, 0)') }} || ' of orders discounted, '
            || {{ crm_fmt_pct('cheap_share') }} || ' of units cheap, '
            || {{ crm_fmt('premium_units') }} || ' premium units'
    end as orientation_reason
from oriented
