{#- The value pyramid (Zeithaml, Rust & Lemon): ranked by profit, the most profitable
    customers who together make up to var tier_platinum_share of the profit of all
    profitable customers are platinum, up to var tier_gold_share gold, the other profitable
    ones iron, and those with profit below zero lead (a customer who breaks even, profit 0, is
    not below zero: iron, with its own reason). A customer belongs to a tier when the
    customers ranked above them have not yet filled it. Only external customers have a tier. -#}
with facts as (

    select
        contact_id,
        profit,
        profit_rank
    from {{ ref('int_customers_facts') }}

),

profitable as (

    select
        contact_id,
        sum(profit) over (
            order by profit_rank asc rows between unbounded preceding and 1 preceding
        ) as profit_ranked_above,
        sum(profit) over () as total_positive_profit
    from facts
    where profit_rank is not null and profit > 0

),

shares as (

    select
        facts.contact_id,
        facts.profit,
        facts.profit_rank,
        coalesce(profitable.profit_ranked_above, 0) / profitable.total_positive_profit
            as positive_profit_share_above
    from facts
    left join profitable
        on facts.contact_id = profitable.contact_id

),

tiered as (

    select
        contact_id,
        profit,
        profit_rank,
        positive_profit_share_above,
        case
            when profit_rank is null then null
            when profit < 0 then 'lead'
            when profit = 0 then 'iron'
            when positive_profit_share_above < {{ var('tier_platinum_share') }} then 'platinum'
            when positive_profit_share_above < {{ var('tier_gold_share') }} then 'gold'
            else 'iron'
        end as value_tier
    from shares

)

{#- the reason follows the tier decided above: each rule is written once -#}
select
    contact_id,
    value_tier,
    case
        when value_tier is null then 'no tier: not an external customer'
        when value_tier = 'lead' then 'lead: profit ' || {{ crm_fmt('profit', 2) }} || ' below zero'
        when value_tier = 'platinum'
            then
                'platinum: profit rank ' || {{ crm_fmt('profit_rank') }} || ', customers above make '
                || {{ crm_fmt_pct('positive_profit_share_above') }} || ' of positive profit < '
                || {{ crm_fmt_pct(var('tier_platinum_share')) }}
        when value_tier = 'gold'
            then
                'gold: profit rank ' || {{ crm_fmt('profit_rank') }} || ', customers above make '
                || {{ crm_fmt_pct('positive_profit_share_above') }} || ' of positive profit < '
                || {{ crm_fmt_pct(var('tier_gold_share')) }}
        when profit = 0 then 'iron: breaks even (profit 0.00), not below zero'
        else
            'iron: profitable (' || {{ crm_fmt('profit', 2) }} || ') beyond the top '
            || {{ crm_fmt_pct(var('tier_gold_share')) }} || ' of positive profit'
    end as value_tier_reason
from tiered
