{{ crm_base_model(source('crm', 'contacts'), 'contacts') }}
