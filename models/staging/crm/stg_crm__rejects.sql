{#- Every raw row that staging could not accept, with the rules it broke. -#}
{% for entity, key_column in crm_entities().items() %}
select
    '{{ entity }}' as entity,
    cast({{ key_column }} as {{ dbt.type_string() }}) as record_key,
    _reject_reasons as reject_reasons,
    split_part(_reject_reasons, ', ', 1) as primary_reason,
    _source_file,
    _source_row_number,
    _load_id,
    _loaded_at,
    _raw_values as raw_values
from {{ ref('base_crm__' ~ entity) }}
where _reject_reasons is not null
{% if not loop.last %}union all{% endif %}
{% endfor %}
