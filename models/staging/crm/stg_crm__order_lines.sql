with base as (

    {{ crm_latest_good_rows(ref('base_crm__order_lines')) }}

),

renamed as (

    select
        order_line_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        coalesce(discount_amount, 0) as discount_amount,
        quantity * unit_price as gross_amount,
        quantity * unit_price - coalesce(discount_amount, 0) as net_amount,
        updated_at,
        _source_file,
        _loaded_at
    from base

)

select * from renamed
