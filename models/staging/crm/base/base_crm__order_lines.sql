{{ crm_base_model(source('crm', 'order_lines'), 'order_lines', parents={
    'order_id': ref('stg_crm__orders'),
    'product_id': ref('stg_crm__products'),
}) }}
