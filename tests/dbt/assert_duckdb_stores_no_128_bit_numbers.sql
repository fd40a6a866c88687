-- DuckDB only: no table or view the project builds stores a 128-bit number, except the
-- converted order amounts kept exact on purpose (int_orders_priced, the int_orders_enriched
-- view over it) and the staged line amounts (stg_crm__order_lines, a view). DuckDB widens
-- sums to HUGEINT and decimal(38, s), which made the customer facts and the customers mart
-- markedly slower at 1M contacts; crm_sum_whole and crm_money keep them at 64 bits
-- (docs/decisions.md, "Stored counts and amounts keep 64-bit widths"). A model that sums
-- without them passes every value test, so this checks the types themselves. Runs after the
-- customers mart; the segment marts built after it are checked from the next build on.
{{ config(enabled=target.type == 'duckdb') }}

select
    stored.table_schema,
    stored.table_name,
    stored.column_name,
    stored.data_type
from information_schema.columns as stored  -- noqa: RF04
where
    stored.table_catalog = '{{ ref("customers").database }}'
    and stored.table_name not in ('int_orders_priced', 'int_orders_enriched', 'stg_crm__order_lines')
    and (
        stored.data_type in ('HUGEINT', 'UHUGEINT')
        or (
            stored.data_type like 'DECIMAL(%'
            and cast(regexp_extract(stored.data_type, 'DECIMAL\((\d+),', 1) as integer) > 18
        )
    )
