{{ crm_base_model(source('crm', 'marketing_touches'), 'marketing_touches', parents={
    'contact_id': ref('stg_crm__contacts'),
    'campaign_id': ref('stg_crm__campaigns'),
}) }}
