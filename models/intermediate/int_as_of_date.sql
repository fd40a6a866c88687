{#- The single evaluation date of the build: var as_of_date, or the latest event in the data. -#}
{%- set as_of = var('as_of_date') -%}

with events as (

    select max(ordered_on) as event_date from {{ ref('stg_crm__orders') }}
    union all
    select max(cast(touched_at as date)) as event_date from {{ ref('stg_crm__marketing_touches') }}
    union all
    select max(cast(opened_at as date)) as event_date from {{ ref('stg_crm__support_tickets') }}
    union all
    select max(cast(responded_at as date)) as event_date from {{ ref('stg_crm__nps_responses') }}
    union all
    select max(paid_on) as event_date from {{ ref('stg_crm__payments') }}
    union all
    select max(cast(created_at as date)) as event_date from {{ ref('stg_crm__contacts') }}

)

select
    {% if as_of -%}
        max(cast('{{ as_of }}' as date))
    {%- else -%}
    max(event_date)
    {%- endif %} as as_of_date
from events
