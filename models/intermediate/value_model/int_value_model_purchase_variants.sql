{#- The usable purchase models (bgnbd, mbgnbd) with what the scoring derives from their
    parameters: the arguments of the Euler-transformed 2F1 series and the a = 1 guard.

    At a = 1 the conditional expectation is 0/0. As scripts/clv does, a within 1e-5 of 1 is
    replaced by two variants, a = 1 - 1e-5 and a = 1 + 1e-5, each of weight 1/2, and the
    scores average them; any other a is one variant of weight 1 (a_offset_sign = 0). -#}

with purchase_models as (

    select
        model,
        param_r as r,
        param_alpha as alpha,
        param_a as fitted_a,
        param_b as b,
        -- MBG/NBD lets a customer drop out right after the first purchase too: one more
        -- dropout opportunity than BG/NBD at every purchase count.
        case when model = 'mbgnbd' then 1 else 0 end as extra_dropout_opportunity,
        series_is_contracting,
        series_terms as proven_series_terms
    from {{ ref('int_value_model_parameters') }}
    where model in ('bgnbd', 'mbgnbd') and is_usable

),

a_offsets as (

    select 0 as a_offset_sign
    union all
    select -1 as a_offset_sign
    union all
    select 1 as a_offset_sign

),

variants as (

    select
        purchase_models.model,
        a_offsets.a_offset_sign,
        {{ value_model_as_double('case when a_offsets.a_offset_sign = 0 then 1 else 0.5 end') }}
            as variant_weight,
        purchase_models.r,
        purchase_models.alpha,
        purchase_models.fitted_a,
        case
            when a_offsets.a_offset_sign = 0 then purchase_models.fitted_a
            else 1 + a_offsets.a_offset_sign * {{ value_model_as_double('1e-5') }}
        end as a,
        purchase_models.b,
        purchase_models.extra_dropout_opportunity,
        purchase_models.series_is_contracting,
        purchase_models.proven_series_terms
    from purchase_models
    cross join a_offsets
    where
        case
            when abs(purchase_models.fitted_a - 1) < {{ value_model_as_double('1e-5') }}
                then a_offsets.a_offset_sign <> 0
            else a_offsets.a_offset_sign = 0
        end

)

select
    *,
    -- The series 2F1(A, B; C0 + x; z) (scripts/clv/models.py, Euler's transformation):
    -- BG/NBD A = a+b-1-r, B = a-1, C0 = a+b-1; MBG/NBD A = a+b-r, B = a-1, C0 = a+b.
    a + b - 1 - r + extra_dropout_opportunity as series_numerator_a,
    a - 1 as series_numerator_b,
    a + b - 1 + extra_dropout_opportunity as series_denominator_without_repeats
from variants
