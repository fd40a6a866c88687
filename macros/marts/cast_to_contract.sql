{#- Select every column declared in the model's YAML, cast to its declared data_type, in
    the declared order. Marts end with it so the enforced contract is met the same way on
    every engine (sums and averages come back as different types on each). -#}
{% macro crm_cast_to_contract(from_cte) -%}
    {%- if not execute or not model.columns -%}
        select * from {{ from_cte }}
    {%- else -%}
        select
        {%- for name, column in model.columns.items() %}
            cast({{ name }} as {{ column.data_type }}) as {{ name }}{{ "," if not loop.last }}
        {%- endfor %}
        from {{ from_cte }}
    {%- endif -%}
{%- endmacro %}
