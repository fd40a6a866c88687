{{ crm_base_model(source('crm', 'invoices'), 'invoices', parents={
    'order_id': ref('base_crm__orders'),
    'contact_id': ref('base_crm__contacts'),
}) }}
