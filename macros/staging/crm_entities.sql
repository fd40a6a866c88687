{#- Every entity of the extract contract with its key column. A pytest keeps this list in
    step with docs/extract_contract.yml. Parents come before children. -#}
{% macro crm_entities() %}
    {{ return({
        'contacts': 'contact_id',
        'products': 'product_id',
        'campaigns': 'campaign_id',
        'orders': 'order_id',
        'order_lines': 'order_line_id',
        'invoices': 'invoice_id',
        'payments': 'payment_id',
        'support_tickets': 'ticket_id',
        'nps_responses': 'response_id',
        'marketing_touches': 'touch_id',
        'referrals': 'referral_id',
    }) }}
{% endmacro %}
