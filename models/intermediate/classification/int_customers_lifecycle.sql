{#- Lifecycle stage (doc 001, Sterne & Cutler), exactly one per contact, first match:
    conversion (one paid order, or a first order within var conversion_window_days),
    inspiration (repeat buyer and advocate: latest NPS promoter or a referral that bought),
    retention (repeat buyer; a lapsed one stays here and activity_status says so),
    acquisition (no paid order, but engaged: an engagement touch or a question),
    reaching (no paid order and no engagement: only outbound touches, or none). -#}
with facts as (

    select * from {{ ref('int_customers_facts') }}

),

staged as (

    select
        contact_id,
        paid_orders,
        latest_nps_class,
        referrals_converted,
        engagement_touches,
        question_tickets,
        touches,
        {{ crm_days_between('first_order_date', 'as_of_date') }} as days_since_first_order,
        case
            when paid_orders = 1 then 'conversion'
            when paid_orders > 1
                and {{ crm_days_between('first_order_date', 'as_of_date') }}
                <= {{ var('conversion_window_days') }}
                then 'conversion'
            when paid_orders > 1
                and (latest_nps_class = 'promoter' or referrals_converted > 0)
                then 'inspiration'
            when paid_orders > 1 then 'retention'
            when engagement_touches > 0 or question_tickets > 0 then 'acquisition'
            else 'reaching'
        end as lifecycle_stage
    from facts

)

select
    contact_id,
    lifecycle_stage,
    case lifecycle_stage
        when 'conversion'
            then
                case
                    when paid_orders = 1 then 'conversion: exactly one paid order'
                    else
                        'conversion: first order ' || {{ crm_fmt('days_since_first_order') }}
                        || ' days ago, within the ' || {{ crm_fmt(var('conversion_window_days')) }}
                        || '-day conversion window'
                end
        when 'inspiration'
            then
                'inspiration: ' || {{ crm_fmt('paid_orders') }} || ' paid orders and an advocate ('
                || case
                    when latest_nps_class = 'promoter' then 'latest NPS answer is a promoter'
                    else {{ crm_fmt('referrals_converted') }} || ' referral(s) became customers'
                end || ')'
        when 'retention' then 'retention: ' || {{ crm_fmt('paid_orders') }} || ' paid orders'
        when 'acquisition'
            then
                'acquisition: engaged (' || {{ crm_fmt('engagement_touches') }} || ' engagement touches, '
                || {{ crm_fmt('question_tickets') }} || ' questions) but no paid order'
        else
            'reaching: no paid order and no engagement (' || {{ crm_fmt('touches') }}
            || ' outbound touches)'
    end as lifecycle_stage_reason
from staged
