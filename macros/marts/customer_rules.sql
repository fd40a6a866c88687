{#- Business rules shared by several models: each lives here once. -#}

{#- The population of every customer-level model: contacts that exist on the evaluation
    date. A contact created later is not in the mart, so it must not count anywhere (not in
    RFM quintile boundaries, profit ranks, acquisition cost shares or value predictions). -#}
{% macro crm_contact_exists_on(created_at_expr, as_of_date_expr) -%}
    cast({{ created_at_expr }} as date) <= {{ as_of_date_expr }}
{%- endmacro %}

{#- True when an order status counts as a purchase (var paid_order_statuses). -#}
{% macro crm_is_paid_status(status_expr) -%}
    {{ status_expr }} in ('{{ var("paid_order_statuses") | join("', '") }}')
{%- endmacro %}

{#- NPS class of a 0-10 score: promoter 9-10, passive 7-8, detractor 0-6 (doc 003). -#}
{% macro crm_nps_class(score_expr) -%}
    case
        when {{ score_expr }} >= 9 then 'promoter'
        when {{ score_expr }} >= 7 then 'passive'
        when {{ score_expr }} >= 0 then 'detractor'
    end
{%- endmacro %}

{#- Net Promoter Score of the rows in the current group:
    100 x (promoters - detractors) / respondents; null without respondents. -#}
{% macro crm_net_promoter_score(score_expr) -%}
    100.0 * (
        sum(case when {{ score_expr }} >= 9 then 1 else 0 end)
        - sum(case when {{ score_expr }} <= 6 then 1 else 0 end)
    ) / nullif(count({{ score_expr }}), 0)
{%- endmacro %}

{#- A ratio that is null, not an error, when the denominator is zero. -#}
{% macro crm_safe_divide(numerator, denominator) -%}
    cast({{ numerator }} as {{ crm_type_double() }}) / nullif({{ denominator }}, 0)
{%- endmacro %}

{#- An 8-byte float on every engine (dbt.type_float() is a 4-byte float on DuckDB and
    Spark, which makes a share of exactly 0.7 compare below a 0.7 threshold). -#}
{% macro crm_type_double() -%}
    {{ return(adapter.dispatch('crm_type_double', 'crm_warehouse')()) }}
{%- endmacro %}

{% macro default__crm_type_double() -%}
    double
{%- endmacro %}

{% macro postgres__crm_type_double() -%}
    double precision
{%- endmacro %}

{#- True when a timestamp falls outside business hours (vars business_hours_start/end) or at the weekend. -#}
{% macro crm_is_outside_business_hours(ts_expr) -%}
    (
        extract(hour from {{ ts_expr }}) < {{ var('business_hours_start') }}
        or extract(hour from {{ ts_expr }}) >= {{ var('business_hours_end') }}
        or {{ crm_iso_day_of_week(ts_expr) }} >= 6
    )
{%- endmacro %}

{#- Age band label at the evaluation date from var age_band_lower_bounds. -#}
{% macro crm_age_band(birth_date_expr, as_of_expr) -%}
    {%- set bounds = var('age_band_lower_bounds') -%}
    {#- whole years: the year difference, less one while this year's birthday is still ahead -#}
    {%- set age -%}
        (extract(year from {{ as_of_expr }}) - extract(year from {{ birth_date_expr }})
        - case
            when extract(month from {{ as_of_expr }}) * 100 + extract(day from {{ as_of_expr }})
                < extract(month from {{ birth_date_expr }}) * 100 + extract(day from {{ birth_date_expr }})
                then 1
            else 0
        end)
    {%- endset -%}
    case
        when {{ birth_date_expr }} is null then null
        {%- for lower in bounds | reverse %}
        {%- set position = bounds | length - loop.index %}
        when {{ age }} >= {{ lower }} then
            '{{ lower }}{{ "-" ~ (bounds[position + 1] - 1) if position + 1 < bounds | length else "+" }}'
        {%- endfor %}
        else 'under_{{ bounds[0] }}'
    end
{%- endmacro %}

{#- A number as short text for reason columns: rounded, never null ('n/a'). -#}
{% macro crm_fmt(expr, digits=0) -%}
    coalesce(cast(round(cast({{ expr }} as decimal(18, 4)), {{ digits }}) as {{ dbt.type_string() }}), 'n/a')
{%- endmacro %}

{#- A share as a whole percentage for reason columns ('73%'). -#}
{% macro crm_fmt_pct(expr) -%}
    {{ crm_fmt(expr ~ ' * 100', 0) }} || '%'
{%- endmacro %}
