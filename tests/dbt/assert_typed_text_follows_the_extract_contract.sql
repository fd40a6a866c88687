-- The text each contract type accepts (docs/extract_contract.md, "Types"), cast the way the
-- base models cast it: returns every case whose outcome differs from the contract's table.
-- Each engine's own cast is more lenient (DuckDB reads '2.5' as the integer 3, DuckDB and
-- Spark read a timestamp as a date), and a row must be accepted or rejected alike on every
-- engine. Text arrives trimmed (crm_clean_text), so no case has surrounding blanks.
{%- set cases = [
    ('integer', '3', true),
    ('integer', '-12', true),
    ('integer', '+7', true),
    ('integer', '2.5', false),
    ('integer', '0x10', false),
    ('integer', '1_000', false),
    ('integer', '1e3', false),
    ('integer', '1,000', false),
    ('integer', 'twelve', false),
    ('decimal', '12.50', true),
    ('decimal', '-3', true),
    ('decimal', '1e3', true),
    ('decimal', '.5', true),
    ('decimal', '1_000', false),
    ('decimal', '10,50', false),
    ('decimal', '0x10', false),
    ('decimal', '1.000,50', false),
    ('date', '2024-01-15', true),
    ('date', '2024-02-31', false),
    ('date', '2024-01-15 10:00:00', false),
    ('date', '2024-01-15T10:00:00', false),
    ('date', '15/01/2024', false),
    ('date', '20240115', false),
    ('timestamp', '2025-01-01 10:00:00', true),
    ('timestamp', '2025-01-01T10:00:00.123', true),
    ('timestamp', '2025-01-01 10:00', true),
    ('timestamp', '2025-01-01', true),
    ('timestamp', '2025-01-01T10:00:00Z', false),
    ('timestamp', '2025-01-01 10:00:00+01:00', false),
    ('timestamp', '2025-01-01 25:00:00', false),
    ('timestamp', '01/01/2025 10:00', false),
] %}
with cases as (
    {%- for logical_type, text, accepted in cases %}
    select
        '{{ logical_type }}' as logical_type,
        '{{ text }}' as raw_text,
        {{ accepted }} as contract_accepts,
        {{ crm_try_cast("'" ~ text ~ "'", logical_type) }} is not null as cast_accepts
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select *
from cases
where contract_accepts <> cast_accepts
