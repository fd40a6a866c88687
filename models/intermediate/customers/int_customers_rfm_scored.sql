{#- Recency, frequency and monetary quintile scores (5 = best) of external customers and
    their named segment from seeds/rfm_segment_map.csv. Ties are broken by contact_id so
    the same data always gives the same scores. -#}
with customers as (

    select
        buying.contact_id,
        {{ crm_days_between('buying.last_order_date', 'as_of.as_of_date') }} as recency_days,
        buying.paid_orders as frequency,
        buying.net_revenue as monetary
    from {{ ref('int_orders_aggregated_to_customers') }} as buying
    inner join {{ ref('stg_crm__contacts') }} as contacts
        on buying.contact_id = contacts.contact_id
    cross join {{ ref('int_as_of_date') }} as as_of
    where
        buying.paid_orders > 0
        and not contacts.is_internal
        and {{ crm_contact_exists_on('contacts.created_at', 'as_of.as_of_date') }}

),

scored as (

    select
        contact_id,
        recency_days,
        frequency,
        monetary,
        ntile(5) over (order by recency_days desc, contact_id asc) as recency_score,
        ntile(5) over (order by frequency asc, contact_id asc) as frequency_score,
        ntile(5) over (order by monetary asc, contact_id asc) as monetary_score
    from customers

)

select
    scored.contact_id,
    scored.recency_days,
    scored.frequency,
    scored.monetary,
    scored.recency_score,
    scored.frequency_score,
    scored.monetary_score,
    segments.rfm_segment
from scored
left join {{ ref('rfm_segment_map') }} as segments
    on
        scored.recency_score = segments.recency_score
        and scored.frequency_score = segments.frequency_score
        and scored.monetary_score = segments.monetary_score
