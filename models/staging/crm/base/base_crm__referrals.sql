{{ crm_base_model(source('crm', 'referrals'), 'referrals', parents={
    'referrer_contact_id': ref('stg_crm__contacts'),
    'referred_contact_id': ref('stg_crm__contacts'),
}) }}
