with base as (

    {{ crm_latest_good_rows(ref('base_crm__payments')) }}

),

renamed as (

    select
        payment_id,
        invoice_id,
        paid_on,
        amount,
        payment_method,
        updated_at,
        _source_file,
        _loaded_at
    from base

)

select * from renamed
