{#- Marketing touches per contact up to the evaluation date, by type. -#}
{%- set touch_types = [
    'impression', 'send', 'open', 'click', 'visit', 'form', 'demo_request', 'quote_request'
] -%}

with touches as (

    select touches.*
    from {{ ref('stg_crm__marketing_touches') }} as touches
    cross join {{ ref('int_as_of_date') }} as as_of
    where cast(touches.touched_at as date) <= as_of.as_of_date

)

select
    contact_id,
    count(*) as touches,
    count(case when is_engagement then 1 end) as engagement_touches,
    {%- for touch_type in touch_types %}
    count(case when touch_type = '{{ touch_type }}' then 1 end) as {{ touch_type }}_touches,
    {%- endfor %}
    min(cast(touched_at as date)) as first_touch_date,
    max(cast(touched_at as date)) as last_touch_date,
    min(case when is_engagement then cast(touched_at as date) end) as first_engagement_date
from touches
group by contact_id
