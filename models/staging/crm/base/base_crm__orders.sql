{{ crm_base_model(source('crm', 'orders'), 'orders', parents={
    'contact_id': ref('stg_crm__contacts'),
    'consumer_contact_id': ref('stg_crm__contacts'),
}) }}
