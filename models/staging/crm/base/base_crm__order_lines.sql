{{ crm_base_model(source('crm', 'order_lines'), 'order_lines', parents={
    'order_id': ref('base_crm__orders'),
    'product_id': ref('base_crm__products'),
}) }}
