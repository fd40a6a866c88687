{#- The voice of each contact up to the evaluation date: latest survey score and its NPS
    class, and the public reviews they wrote (a low one is complaining behind our back). -#}
with responses as (

    select responses.*
    from {{ ref('stg_crm__nps_responses') }} as responses
    cross join {{ ref('int_as_of_date') }} as as_of
    where cast(responses.responded_at as date) <= as_of.as_of_date

),

latest_survey as (

    select
        contact_id,
        score,
        row_number() over (
            partition by contact_id order by responded_at desc, response_id desc
        ) as recency_rank
    from responses
    where response_source = 'survey'

),

per_contact as (

    select
        contact_id,
        count(case when response_source = 'survey' then 1 end) as nps_responses,
        count(case when response_source = 'public_review' then 1 end) as public_reviews,
        count(case when response_source = 'public_review' and score <= 6 then 1 end)
            as negative_public_reviews
    from responses
    group by contact_id

)

select
    per_contact.contact_id,
    per_contact.nps_responses,
    per_contact.public_reviews,
    per_contact.negative_public_reviews,
    latest_survey.score as latest_nps_score,
    {{ crm_nps_class('latest_survey.score') }} as latest_nps_class
from per_contact
left join latest_survey
    on per_contact.contact_id = latest_survey.contact_id
        and latest_survey.recency_rank = 1
