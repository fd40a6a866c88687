with base as (

    {{ crm_latest_good_rows(ref('base_crm__campaigns')) }}

),

renamed as (

    select
        campaign_id,
        campaign_name,
        channel,
        started_on,
        ended_on,
        cost,
        upper(currency) as currency,
        updated_at,
        _source_file,
        _loaded_at
    from base

)

select * from renamed
