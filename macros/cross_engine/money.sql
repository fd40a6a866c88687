{#- An amount of money at the contract's money type, decimal(18, 4). Sums, products and
    currency conversions come back wider on DuckDB (128-bit decimal(38, s) and (37, s), with
    scale 10 after a conversion), and 128-bit columns are slow to write, scan and cast:
    keeping every stored amount at 18 digits made the 1M-contact build of the customer facts
    and the customer mart markedly faster (docs/decisions.md). Exact for sums and
    differences of amounts that already have 4 decimals; a conversion at a rate with more
    decimals is rounded here, once per order, invoice or ticket. -#}
{% macro crm_money(expr) -%}
    cast({{ expr }} as {{ crm_sql_type('decimal') }})
{%- endmacro %}
