{{ crm_base_model(source('crm', 'marketing_touches'), 'marketing_touches', parents={
    'contact_id': ref('base_crm__contacts'),
    'campaign_id': ref('base_crm__campaigns'),
}) }}
