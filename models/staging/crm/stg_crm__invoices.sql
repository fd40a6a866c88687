with base as (

    {{ crm_latest_good_rows(ref('base_crm__invoices')) }}

),

renamed as (

    select
        invoice_id,
        order_id,
        contact_id,
        invoiced_on,
        due_on,
        amount,
        upper(currency) as currency,
        updated_at,
        _source_file,
        _loaded_at
    from base

)

select * from renamed
