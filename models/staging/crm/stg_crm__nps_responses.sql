with base as (

    {{ crm_latest_good_rows(ref('base_crm__nps_responses')) }}

),

renamed as (

    select
        response_id,
        contact_id,
        responded_at,
        score,
        coalesce(response_source, 'survey') as response_source,
        comment,
        updated_at,
        _source_file,
        _loaded_at
    from base

)

select * from renamed
