{#- Marketing touches per contact up to the evaluation date, by type.

    Incremental (DuckDB, PostgreSQL): a build counts again only the contacts of the touches
    staging rechecked since the last build, those with a touch dated in the days the
    evaluation date's move crossed, and everyone when the date went back; the facts of the
    others cannot have changed (they depend on nothing but the contact's touches up to the
    date). A contact left with no touch is deleted by the post-hook. Spark rebuilds the table
    each run. After changing this model's SQL, build it with --full-refresh. -#}
-- depends_on: {{ ref('base_crm__marketing_touches') }}
{%- set touch_types = [
    'impression', 'send', 'open', 'click', 'visit', 'form', 'demo_request', 'quote_request'
] -%}
{%- set touch_columns = ['touches', 'engagement_touches'] -%}
{%- for touch_type in touch_types -%}
{%- do touch_columns.append(touch_type ~ '_touches') -%}
{%- endfor -%}
{{ crm_incremental_per_contact_config('touches') }}

with as_of as (

    select as_of_date from {{ ref('int_as_of_date') }}

),

{% if is_incremental() -%}
since_last_build as (

    {{ crm_since_last_build(this, 'as_of') }}

),

contacts_to_reaggregate as (

    {{ crm_contacts_rechecked_since(ref('base_crm__marketing_touches'), 'since_last_build') }}
    union
    {{ crm_contacts_of_changed_rows(
        ref('stg_crm__marketing_touches'), 'since_last_build',
        dated='cast(changed.touched_at as date)',
    ) }}
    union
    {{ crm_contacts_of_changed_rows(this, 'since_last_build') }}

),

{% endif -%}
touches as (

    select touches.*
    from {{ ref('stg_crm__marketing_touches') }} as touches
    cross join as_of
    where cast(touches.touched_at as date) <= as_of.as_of_date
    {%- if is_incremental() %}
        and touches.contact_id in (select contact_id from contacts_to_reaggregate)
    {%- endif %}

),

touches_per_contact as (

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

)

{{ crm_select_aggregated(
    'touches_per_contact',
    touch_columns + ['first_touch_date', 'last_touch_date', 'first_engagement_date'],
    'contacts_to_reaggregate',
) }}
