with base as (

    {{ crm_latest_good_rows(ref('base_crm__products')) }}

),

categories as (

    select * from {{ ref('product_category_map') }}

),

renamed as (

    select
        base.product_id,
        base.product_name,
        base.category as category_label,
        coalesce(categories.category, 'unmapped') as category,
        base.list_price,
        base.unit_cost,
        coalesce(base.is_premium, false) as is_premium,
        base.technology_generation,
        base.launch_date,
        base.updated_at,
        base._source_file,
        base._loaded_at
    from base
    left join categories
        on lower(base.category) = categories.crm_category_label

)

select * from renamed
