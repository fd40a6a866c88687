{#- The coefficients c_n(x) of the Euler-transformed 2F1 series of the conditional
    expectation, per purchase model variant, repeat purchase count x (the distinct ones of
    the inputs) and term n, as many terms as int_value_model_power_weights uses:

        c_0 = 1,   c_n = c_(n-1) (A + k)(B + k) / ((C0 + x + k)(k + 1)),   k = n - 1

    PostgreSQL has no lgamma, and this ratio of gamma functions overflows for large n
    anyway, so each step is taken as a log-magnitude plus its count of negative factors
    (giving the sign) and of zero factors (a series that terminates), summed over the steps. -#}

with variants as (

    select * from {{ ref('int_value_model_purchase_variants') }}

),

frequencies as (

    select distinct repeat_purchase_count as x
    from {{ ref('int_customers_value_model_inputs') }}

),

series_lengths as (

    select
        model,
        a_offset_sign,
        max(term_number) + 1 as series_terms
    from {{ ref('int_value_model_power_weights') }}
    group by model, a_offset_sign

),

term_numbers as (

    select
        series_lengths.model,
        series_lengths.a_offset_sign,
        frequencies.x,
        {{ value_model_integer_series(0, 'series_lengths.series_terms - 1') }} as term_number
    from series_lengths
    cross join frequencies

),

step_factors as (

    select
        term_numbers.model,
        term_numbers.a_offset_sign,
        term_numbers.x,
        term_numbers.term_number,
        variants.series_numerator_a + term_numbers.term_number - 1 as numerator_a_factor,
        variants.series_numerator_b + term_numbers.term_number - 1 as numerator_b_factor,
        variants.series_denominator_without_repeats + term_numbers.x + term_numbers.term_number - 1
            as denominator_factor
    from term_numbers
    inner join variants
        on
            term_numbers.model = variants.model
            and term_numbers.a_offset_sign = variants.a_offset_sign

),

-- Step n turns c_(n-1) into c_n; term 0 (c_0 = 1) takes no step. The guards keep ln()
-- away from 0 (a zero factor is counted instead).
steps as (

    select
        model,
        a_offset_sign,
        x,
        term_number,
        case
            when term_number = 0 then 0
            else
                ln(case when numerator_a_factor = 0 then 1 else abs(numerator_a_factor) end)
                + ln(case when numerator_b_factor = 0 then 1 else abs(numerator_b_factor) end)
                - ln(case when denominator_factor = 0 then 1 else abs(denominator_factor) end)
                - ln(greatest(term_number, 1))
        end as log_abs_step,
        case
            when term_number = 0 then 0
            else
                case when numerator_a_factor < 0 then 1 else 0 end
                + case when numerator_b_factor < 0 then 1 else 0 end
                + case when denominator_factor < 0 then 1 else 0 end
        end as negative_factors,
        case
            when term_number > 0 and (numerator_a_factor = 0 or numerator_b_factor = 0) then 1 else 0
        end as zero_factors
    from step_factors

),

accumulated as (

    select
        model,
        a_offset_sign,
        x,
        term_number,
        sum(log_abs_step) over (
            partition by model, a_offset_sign, x order by term_number
            rows between unbounded preceding and current row
        ) as log_abs_coefficient,
        sum(negative_factors) over (
            partition by model, a_offset_sign, x order by term_number
            rows between unbounded preceding and current row
        ) as negative_factors,
        sum(zero_factors) over (
            partition by model, a_offset_sign, x order by term_number
            rows between unbounded preceding and current row
        ) as zero_factors
    from steps

)

select
    model,
    a_offset_sign,
    x as repeat_purchase_count,
    term_number,
    case
        when zero_factors > 0 then {{ value_model_as_double(0) }}
        else {{ value_model_sign_of_power('negative_factors') }} * {{ value_model_exp_or_zero('log_abs_coefficient') }}
    end as coefficient
from accumulated
