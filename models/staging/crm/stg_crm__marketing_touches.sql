with base as (

    {{ crm_latest_good_rows(ref('base_crm__marketing_touches')) }}

),

renamed as (

    select
        touch_id,
        contact_id,
        campaign_id,
        touch_type,
        touch_type not in ('impression', 'send') as is_engagement,
        touched_at,
        updated_at,
        _source_file,
        _loaded_at
    from base

)

select * from renamed
