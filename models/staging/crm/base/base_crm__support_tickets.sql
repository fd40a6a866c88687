{{ crm_base_model(source('crm', 'support_tickets'), 'support_tickets', parents={
    'contact_id': ref('stg_crm__contacts'),
}) }}
