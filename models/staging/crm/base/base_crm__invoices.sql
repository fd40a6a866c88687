{{ crm_base_model(source('crm', 'invoices'), 'invoices', parents={
    'order_id': ref('stg_crm__orders'),
    'contact_id': ref('stg_crm__contacts'),
}) }}
