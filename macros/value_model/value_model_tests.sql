{#- Generic data test: every row satisfies a SQL condition (rows where it is false fail;
    rows where it is null, e.g. a prediction that is null by design, pass). -#}
{% test value_model_expression_is_true(model, condition) %}
    select *
    from {{ model }}
    where not ({{ condition }})
{% endtest %}
