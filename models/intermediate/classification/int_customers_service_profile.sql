{#- Behaviour in service interactions (docs 000, 004), toxicity and the service time
    budget, per contact. Profiles are independent flags; the toxicity score counts the
    indicators of doc 004 that a contact shows. -#}
with facts as (

    select * from {{ ref('int_customers_facts') }}

),

activity as (

    select
        contact_id,
        activity_status
    from {{ ref('int_customers_activity') }}

),

indicators as (

    select
        facts.contact_id,
        facts.tickets,
        facts.question_tickets,
        facts.questions_before_first_purchase,
        facts.document_request_tickets,
        facts.escalation_tickets,
        facts.billing_tickets,
        facts.price_negotiation_tickets,
        facts.out_of_catalogue_request_tickets,
        facts.urgent_ticket_share,
        facts.outside_business_hours_share,
        facts.clarification_round_trips_per_ticket,
        facts.late_invoice_share,
        facts.amount_unpaid_past_due,
        facts.negative_public_reviews,
        facts.nps_responses,
        facts.gross_margin,
        facts.tenure_days,
        facts.support_minutes_last_30_days,
        facts.returned_orders + facts.cancelled_orders + facts.complaints_soon_after_purchase
            as distrust_events,
        facts.billing_tickets + facts.price_negotiation_tickets as finance_tickets,
        activity.activity_status,
        facts.tickets >= {{ var('behaviour_min_tickets') }} as has_enough_tickets,
        -- doc 004's indicators of a toxic customer
        facts.price_negotiation_tickets >= {{ var('toxic_min_price_negotiations') }} as renegotiates_prices,
        coalesce(facts.late_invoice_share >= {{ var('toxic_min_late_invoice_share') }}, false)
        or facts.amount_unpaid_past_due > 0 as pays_late,
        facts.out_of_catalogue_request_tickets >= {{ var('toxic_min_out_of_catalogue') }}
            as asks_outside_catalogue,
        facts.tickets >= {{ var('behaviour_min_tickets') }}
        and facts.outside_business_hours_share >= {{ var('toxic_min_outside_hours_share') }}
            as ignores_business_hours,
        facts.tickets >= {{ var('behaviour_min_tickets') }}
        and facts.urgent_ticket_share >= {{ var('hurried_min_urgent_share') }} as makes_everything_urgent,
        coalesce(
            facts.clarification_round_trips_per_ticket >= {{ var('toxic_min_clarifications_per_ticket') }},
            false
        ) as makes_unclear_requests,
        facts.negative_public_reviews > 0 as complains_publicly
    from facts
    left join activity
        on facts.contact_id = activity.contact_id

),

scored as (

    select
        *,
        case when renegotiates_prices then 1 else 0 end
        + case when pays_late then 1 else 0 end
        + case when asks_outside_catalogue then 1 else 0 end
        + case when ignores_business_hours then 1 else 0 end
        + case when makes_everything_urgent then 1 else 0 end
        + case when makes_unclear_requests then 1 else 0 end
        + case when complains_publicly then 1 else 0 end as toxicity_score,
        -- what the customer's gross margin per month of tenure can pay in support minutes
        cast(case
            when gross_margin > 0
                then gross_margin / (case when tenure_days >= 30 then tenure_days / 30.0 else 1 end)
                    * {{ var('service_budget_margin_share') }} / {{ var('service_budget_cost_per_minute') }}
            else 0
        end as {{ crm_type_double() }}) as service_minutes_budget
    from indicators

)

select
    contact_id,
    question_tickets >= {{ var('curious_min_questions') }}
    or questions_before_first_purchase >= {{ var('curious_min_questions') }} as is_curious,
    distrust_events >= {{ var('distrustful_min_events') }} as is_distrustful,
    document_request_tickets >= {{ var('paranoid_min_document_requests') }} as is_paranoid,
    escalation_tickets >= {{ var('aggressive_min_escalations') }} as is_aggressive,
    finance_tickets >= {{ var('finance_min_tickets') }} as is_finance_attentive,
    coalesce(makes_everything_urgent, false) as is_hurried,
    coalesce(nullif(concat_ws(
        ', ',
        case when question_tickets >= {{ var('curious_min_questions') }}
                or questions_before_first_purchase >= {{ var('curious_min_questions') }} then 'curious'
        end,
        case when distrust_events >= {{ var('distrustful_min_events') }} then 'distrustful' end,
        case when document_request_tickets >= {{ var('paranoid_min_document_requests') }} then 'paranoid' end,
        case when escalation_tickets >= {{ var('aggressive_min_escalations') }} then 'aggressive' end,
        case when finance_tickets >= {{ var('finance_min_tickets') }} then 'finance_attentive' end,
        case when makes_everything_urgent then 'hurried' end
    ), ''), 'none') as service_behaviours,
    'questions ' || {{ crm_fmt('question_tickets') }} || ' (' || {{ crm_fmt('questions_before_first_purchase') }}
    || ' before buying), distrust events ' || {{ crm_fmt('distrust_events') }}
    || ', document requests ' || {{ crm_fmt('document_request_tickets') }}
    || ', escalations ' || {{ crm_fmt('escalation_tickets') }}
    || ', billing/price tickets ' || {{ crm_fmt('finance_tickets') }}
    || ', urgent ' || {{ crm_fmt_pct('coalesce(urgent_ticket_share, 0)') }} || ' of '
    || {{ crm_fmt('tickets') }} || ' tickets' as service_behaviours_reason,
    toxicity_score,
    toxicity_score >= {{ var('toxic_min_indicators') }} as is_toxic,
    coalesce(nullif(concat_ws(
        ', ',
        case when renegotiates_prices then
                'renegotiates prices (' || {{ crm_fmt('price_negotiation_tickets') }} || ')'
        end,
        case when pays_late then
                'pays late (' || {{ crm_fmt_pct('coalesce(late_invoice_share, 0)') }} || ' of invoices, '
                || {{ crm_fmt('amount_unpaid_past_due', 2) }} || ' unpaid past due)'
        end,
        case when asks_outside_catalogue then
                'asks for what we do not sell (' || {{ crm_fmt('out_of_catalogue_request_tickets') }} || ')'
        end,
        case when ignores_business_hours then
                'ignores business hours (' || {{ crm_fmt_pct('outside_business_hours_share') }} || ' of tickets)'
        end,
        case when makes_everything_urgent then
                'everything urgent (' || {{ crm_fmt_pct('urgent_ticket_share') }} || ' of tickets)'
        end,
        case when makes_unclear_requests then
                'unclear requests (' || {{ crm_fmt('clarification_round_trips_per_ticket', 1) }}
                || ' clarifications per ticket)'
        end,
        case when complains_publicly then
                'complains publicly (' || {{ crm_fmt('negative_public_reviews') }} || ' negative reviews)'
        end
    ), ''), 'no toxicity indicator') as toxicity_indicators,
    service_minutes_budget,
    support_minutes_last_30_days as service_minutes_used,
    support_minutes_last_30_days > service_minutes_budget as is_over_service_budget,
    tickets = 0 and nps_responses = 0 and activity_status in ('at_risk', 'lapsed') as silent_churn_risk,
    case
        when tickets = 0 and nps_responses = 0 and activity_status in ('at_risk', 'lapsed')
            then 'silent churn risk: ' || activity_status
                || ' with no ticket and no survey answer: never complained, just stopped buying'
        else 'no silent churn risk'
    end as silent_churn_reason
from scored
