{#- Closed forms of the value model, as SQL expressions. Each mirrors a function of
    scripts/clv/models.py (the reference the tests compare with); docs/value_model.md
    derives them. Time is in weeks; `params` is the alias of a relation with the columns
    r, alpha, a, b and extra_dropout_opportunity (0 for BG/NBD, 1 for MBG/NBD). -#}

{#- P(alive at T | x, t_x, T) (probability_alive):
      1 / (1 + a / (b + x - 1 + e) * ((alpha + T) / (alpha + t_x))^(r + x)),
    e = extra_dropout_opportunity. BG/NBD customers without a repeat purchase (x + e = 0)
    have had no chance to drop out: P(alive) = 1. Evaluated from the log-odds so that a
    long silence gives a tiny probability instead of an overflow. -#}
{% macro value_model_probability_alive(params, x, t_x_weeks, age_weeks) -%}
    case
        when {{ x }} + {{ params }}.extra_dropout_opportunity = 0 then {{ value_model_as_double(1) }}
        else {{ value_model_one_over_one_plus_exp(
            'ln(' ~ params ~ '.a) - ln(' ~ params ~ '.b + ' ~ x ~ ' - 1 + ' ~ params ~ '.extra_dropout_opportunity)'
            ~ ' + (' ~ params ~ '.r + ' ~ x ~ ') * (ln(' ~ params ~ '.alpha + ' ~ age_weeks ~ ') - ln(' ~ params ~ '.alpha + ' ~ t_x_weeks ~ '))'
        ) }}
    end
{%- endmacro %}

{#- Terms of the Euler-transformed 2F1 series needed for a truncation error below
    `tolerance` when every term ratio is at most z (n_terms_needed without a, b, c):
    the smallest N with z^N / (1 - z) <= tolerance, i.e. ceil(ln(tolerance (1 - z)) / ln z).
    Arguments are ln z and ln(1 - z), which the caller has in exact form. -#}
{% macro value_model_series_terms_needed(ln_z, ln_one_minus_z, tolerance) -%}
    greatest(1, cast(ceil((ln({{ tolerance }}) + {{ ln_one_minus_z }}) / ({{ ln_z }})) as {{ dbt.type_bigint() }}))
{%- endmacro %}

{#- Gamma-Gamma expected spend per purchase given x repeat purchases of mean value m
    (gamma_gamma_conditional_expected_spend): (gamma + m x) p / (p x + q - 1), a weighted
    mean of the population mean p gamma / (q - 1) and the customer's own m. x = 0 gives the
    population mean (m is null then). Finite only for q > 1, which the fit step checks. -#}
{% macro value_model_expected_spend(p, q, gamma, x, monetary) -%}
    ({{ gamma }} + coalesce({{ monetary }}, 0) * {{ x }}) * {{ p }} / ({{ p }} * {{ x }} + {{ q }} - 1)
{%- endmacro %}
