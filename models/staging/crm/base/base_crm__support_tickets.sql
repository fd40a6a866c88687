{{ crm_base_model(source('crm', 'support_tickets'), 'support_tickets', parents={
    'contact_id': ref('base_crm__contacts'),
}) }}
