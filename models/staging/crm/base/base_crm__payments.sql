{{ crm_base_model(source('crm', 'payments'), 'payments', parents={
    'invoice_id': ref('stg_crm__invoices'),
}) }}
