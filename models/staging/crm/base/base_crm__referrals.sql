{{ crm_base_model(source('crm', 'referrals'), 'referrals', parents={
    'referrer_contact_id': ref('base_crm__contacts'),
    'referred_contact_id': ref('base_crm__contacts'),
}) }}
