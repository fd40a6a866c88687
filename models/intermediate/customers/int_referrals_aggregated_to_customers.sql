{#- Referrals per referrer up to the evaluation date, and what the referred went on to buy. -#}
with referrals as (

    select referrals.*
    from {{ ref('stg_crm__referrals') }} as referrals
    cross join {{ ref('int_as_of_date') }} as as_of
    where cast(referrals.referred_at as date) <= as_of.as_of_date

),

referred_buying as (

    select
        contact_id,
        paid_orders,
        net_revenue
    from {{ ref('int_orders_aggregated_to_customers') }}

)

select
    referrals.referrer_contact_id as contact_id,
    count(distinct referrals.referred_contact_id) as referrals_made,
    count(distinct case when referred_buying.paid_orders > 0 then referrals.referred_contact_id end)
        as referrals_converted,
    {{ crm_money('sum(coalesce(referred_buying.net_revenue, 0))') }} as referred_customers_net_revenue
from referrals
left join referred_buying
    on referrals.referred_contact_id = referred_buying.contact_id
group by referrals.referrer_contact_id
