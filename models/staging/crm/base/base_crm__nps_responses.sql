{{ crm_base_model(source('crm', 'nps_responses'), 'nps_responses', parents={
    'contact_id': ref('base_crm__contacts'),
}) }}
