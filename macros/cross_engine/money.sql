{#- An amount of money at the contract's money type, decimal(18, 4). DuckDB widens a sum of
    amounts to a 128-bit decimal(38, s), and 128-bit columns are slow to write, scan and cast:
    casting each contact's sums back where they are made kept the 1M-contact build of the
    customer facts and the customer mart markedly faster (docs/decisions.md). Used on sums per
    contact and on their differences, which the mart rounded to 4 decimals anyway; not on a
    single order's converted amount, where rounding each one drifts the total (decisions). -#}
{% macro crm_money(expr) -%}
    cast({{ expr }} as {{ crm_sql_type('decimal') }})
{%- endmacro %}
