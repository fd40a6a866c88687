with base as (

    {{ crm_latest_good_rows(ref('base_crm__orders')) }}

),

renamed as (

    select
        order_id,
        contact_id,
        coalesce(consumer_contact_id, contact_id) as consumer_contact_id,
        coalesce(is_gift, false)
        or coalesce(consumer_contact_id <> contact_id, false) as is_gift,
        ordered_at,
        cast(ordered_at as date) as ordered_on,
        channel,
        status,
        promo_code,
        promo_code is not null as has_promo_code,
        upper(currency) as currency,
        updated_at,
        _source_file,
        _loaded_at
    from base

)

select * from renamed
