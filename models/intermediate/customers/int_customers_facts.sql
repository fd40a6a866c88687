{#- One row per contact (customer or prospect) known at the evaluation date, with every
    fact, value and profitability measure: the input of the classifications and the body of
    the customer mart. int_customers_order_facts holds the contact and the facts from orders;
    this model adds paying, service, voice, referrals and marketing (why two models: see
    int_customers_order_facts). Each fact family is aggregated to the contact in its own
    intermediate model before this join, so no join here can multiply rows. -#}
with ordering as (select * from {{ ref('int_customers_order_facts') }}),

paying as (select * from {{ ref('int_invoices_aggregated_to_customers') }}),

service as (select * from {{ ref('int_tickets_aggregated_to_customers') }}),

voice as (select * from {{ ref('int_nps_aggregated_to_customers') }}),

touches as (select * from {{ ref('int_touches_aggregated_to_customers') }}),

referrals as (select * from {{ ref('int_referrals_aggregated_to_customers') }}),

assembled as (

    select
        ordering.*,
        touches.first_touch_date,

        -- paying
        coalesce(paying.invoices, 0) as invoices,
        paying.average_days_past_due,
        paying.max_days_past_due,
        coalesce(paying.late_invoices, 0) as late_invoices,
        paying.late_invoice_share,
        coalesce(paying.amount_unpaid_past_due, 0) as amount_unpaid_past_due,

        -- service
        coalesce(service.tickets, 0) as tickets,
        coalesce(service.question_tickets, 0) as question_tickets,
        coalesce(service.complaint_tickets, 0) as complaint_tickets,
        coalesce(service.document_request_tickets, 0) as document_request_tickets,
        coalesce(service.escalation_tickets, 0) as escalation_tickets,
        coalesce(service.price_negotiation_tickets, 0) as price_negotiation_tickets,
        coalesce(service.out_of_catalogue_request_tickets, 0) as out_of_catalogue_request_tickets,
        coalesce(service.suggestion_tickets, 0) as suggestion_tickets,
        coalesce(service.billing_tickets, 0) as billing_tickets,
        coalesce(service.other_tickets, 0) as other_tickets,
        coalesce(service.support_minutes, 0) as support_minutes,
        coalesce(service.support_minutes_last_30_days, 0) as support_minutes_last_30_days,
        service.urgent_ticket_share,
        service.outside_business_hours_share,
        service.clarification_round_trips_per_ticket,
        coalesce(service.questions_before_first_purchase, 0) as questions_before_first_purchase,
        service.last_ticket_date,

        -- voice
        voice.latest_nps_score,
        voice.latest_nps_class,
        coalesce(voice.nps_responses, 0) as nps_responses,
        coalesce(voice.public_reviews, 0) as public_reviews,
        coalesce(voice.negative_public_reviews, 0) as negative_public_reviews,
        coalesce(referrals.referrals_made, 0) as referrals_made,
        coalesce(referrals.referrals_converted, 0) as referrals_converted,
        coalesce(referrals.referred_customers_net_revenue, 0) as referred_customers_net_revenue,

        -- marketing
        coalesce(touches.touches, 0) as touches,
        coalesce(touches.engagement_touches, 0) as engagement_touches,
        coalesce(touches.impression_touches, 0) as impression_touches,
        coalesce(touches.send_touches, 0) as send_touches,
        coalesce(touches.open_touches, 0) as open_touches,
        coalesce(touches.click_touches, 0) as click_touches,
        coalesce(touches.visit_touches, 0) as visit_touches,
        coalesce(touches.form_touches, 0) as form_touches,
        coalesce(touches.demo_request_touches, 0) as demo_request_touches,
        coalesce(touches.quote_request_touches, 0) as quote_request_touches,
        touches.first_engagement_date,
        touches.last_touch_date
    from ordering
    left join paying
        on ordering.contact_id = paying.contact_id
    left join service
        on ordering.contact_id = service.contact_id
    left join voice
        on ordering.contact_id = voice.contact_id
    left join touches
        on ordering.contact_id = touches.contact_id
    left join referrals
        on ordering.contact_id = referrals.contact_id

)

select * from assembled
