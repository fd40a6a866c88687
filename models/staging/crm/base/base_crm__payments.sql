{{ crm_base_model(source('crm', 'payments'), 'payments', parents={
    'invoice_id': ref('base_crm__invoices'),
}) }}
