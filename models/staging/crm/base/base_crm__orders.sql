{{ crm_base_model(source('crm', 'orders'), 'orders', parents={
    'contact_id': ref('base_crm__contacts'),
    'consumer_contact_id': ref('base_crm__contacts'),
}) }}
