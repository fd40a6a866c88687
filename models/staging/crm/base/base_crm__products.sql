{{ crm_base_model(source('crm', 'products'), 'products') }}
