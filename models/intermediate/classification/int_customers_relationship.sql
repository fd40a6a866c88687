{#- Relationship ladder (doc 003), one rung per contact, highest first: sponsor (a customer
    who recommends us: latest NPS promoter or a referral that bought), patron (account in the
    platinum tier with tenure >= var patron_min_tenure_days), account (>= var
    account_min_orders_12m orders in 12 months, inter-purchase CV < var account_max_ipt_cv,
    >= var account_min_categories categories), buyer (repeat orders), tester (one order),
    prospect (none). The next-rung action comes from seeds/relationship_rungs.csv. -#}
with facts as (

    select * from {{ ref('int_customers_facts') }}

),

tiers as (

    select * from {{ ref('int_customers_value_tier') }}

),

rungs as (

    select * from {{ ref('relationship_rungs') }}

),

conditions as (

    select
        facts.contact_id,
        facts.paid_orders,
        facts.latest_nps_class,
        facts.referrals_converted,
        facts.tenure_days,
        facts.paid_orders_last_12_months,
        facts.purchase_gap_cv,
        facts.distinct_categories,
        tiers.value_tier,
        facts.paid_orders_last_12_months >= {{ var('account_min_orders_12m') }}
        and facts.purchase_gap_cv < {{ var('account_max_ipt_cv') }}
        and facts.distinct_categories >= {{ var('account_min_categories') }} as is_account
    from facts
    left join tiers
        on facts.contact_id = tiers.contact_id

),

laddered as (

    select
        *,
        case
            when paid_orders > 0 and (latest_nps_class = 'promoter' or referrals_converted > 0)
                then 'sponsor'
            when is_account and value_tier = 'platinum'
                and tenure_days >= {{ var('patron_min_tenure_days') }}
                then 'patron'
            when is_account then 'account'
            when paid_orders > 1 then 'buyer'
            when paid_orders = 1 then 'tester'
            else 'prospect'
        end as relationship_rung
    from conditions

)

select
    laddered.contact_id,
    laddered.relationship_rung,
    rungs.rung_order as relationship_rung_order,
    rungs.next_rung_action,
    case laddered.relationship_rung
        when 'sponsor'
            then
                'sponsor: recommends us ('
                || case
                    when laddered.latest_nps_class = 'promoter' then 'latest NPS answer is a promoter'
                    else {{ crm_fmt('laddered.referrals_converted') }} || ' referral(s) became customers'
                end || ')'
        when 'patron'
            then
                'patron: account in the platinum tier for ' || {{ crm_fmt('laddered.tenure_days') }}
                || ' days >= ' || {{ crm_fmt(var('patron_min_tenure_days')) }}
        when 'account'
            then
                'account: ' || {{ crm_fmt('laddered.paid_orders_last_12_months') }} || ' orders in 12 months, gap CV '
                || {{ crm_fmt('laddered.purchase_gap_cv', 2) }} || ' < ' || {{ crm_fmt(var('account_max_ipt_cv'), 2) }}
                || ', ' || {{ crm_fmt('laddered.distinct_categories') }} || ' categories'
        when 'buyer'
            then
                'buyer: ' || {{ crm_fmt('laddered.paid_orders') }} || ' paid orders, not an account ('
                || {{ crm_fmt('laddered.paid_orders_last_12_months') }} || ' orders in 12 months, gap CV '
                || {{ crm_fmt('laddered.purchase_gap_cv', 2) }} || ', '
                || {{ crm_fmt('laddered.distinct_categories') }} || ' categories)'
        when 'tester' then 'tester: one trial purchase'
        else 'prospect: no paid order yet'
    end as relationship_rung_reason
from laddered
left join rungs
    on laddered.relationship_rung = rungs.relationship_rung
