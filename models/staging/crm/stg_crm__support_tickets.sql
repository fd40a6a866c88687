with base as (

    {{ crm_latest_good_rows(ref('base_crm__support_tickets')) }}

),

categories as (

    select * from {{ ref('ticket_category_map') }}

),

renamed as (

    select
        base.ticket_id,
        base.contact_id,
        base.channel,
        base.category_label,
        coalesce(categories.canonical_category, 'other') as ticket_category,
        categories.canonical_category is null as is_unmapped_category,
        coalesce(base.is_urgent, false) as is_urgent,
        base.opened_at,
        base.closed_at,
        coalesce(base.handling_minutes, 0) as handling_minutes,
        coalesce(base.clarification_round_trips, 0) as clarification_round_trips,
        coalesce(base.is_pre_purchase, false) as is_pre_purchase,
        base.related_order_id,
        base.updated_at,
        base._source_file,
        base._loaded_at
    from base
    left join categories
        on lower(base.category_label) = categories.crm_category_label

)

select * from renamed
