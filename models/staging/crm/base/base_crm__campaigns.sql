{{ crm_base_model(source('crm', 'campaigns'), 'campaigns') }}
