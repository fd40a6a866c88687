{#- An amount of money at the contract's money type, decimal(18, 4). DuckDB widens a sum of
    amounts to a 128-bit decimal(38, s), and 128-bit columns are slow to write, scan and cast:
    casting each contact's sums back where they are made kept the 1M-contact build of the
    customer facts and the customer mart markedly faster (docs/decisions.md). Used on sums per
    contact and on their differences, which the mart rounded to 4 decimals anyway; not on a
    single order's converted amount, where rounding each one drifts the total (decisions). -#}
{% macro crm_money(expr) -%}
    cast({{ expr }} as {{ crm_sql_type('decimal') }})
{%- endmacro %}

{#- An amount in an extract currency, in the reporting currency. The amount is widened to
    38 digits before it is multiplied: DuckDB keeps the product of two decimal(18, s) at 18
    digits and raised an overflow once a staged decimal(18, 4) amount times its
    decimal(18, 6) rate reached 10^8, far below the contract's limit. The product keeps every
    decimal on DuckDB and PostgreSQL (Spark rounds it to 6). Order amounts, already sums of
    wide line amounts, come out exactly as before. -#}
{% macro crm_in_reporting_currency(amount_expr, rate_expr) -%}
    cast({{ amount_expr }} as decimal(38, 4)) * {{ rate_expr }}
{%- endmacro %}
