{#- Acquisition cost per contact: the cost of the campaign that acquired them, shared
    equally over every contact that campaign acquired. -#}
with contacts as (

    select
        contacts.contact_id,
        contacts.acquisition_campaign_id
    from {{ ref('stg_crm__contacts') }} as contacts
    cross join {{ ref('int_as_of_date') }} as as_of
    where {{ crm_contact_exists_on('contacts.created_at', 'as_of.as_of_date') }}

),

campaigns as (

    select
        campaigns.campaign_id,
        {{ crm_in_reporting_currency('campaigns.cost', 'rates.rate_to_reporting_currency') }} as campaign_cost
    from {{ ref('stg_crm__campaigns') }} as campaigns
    left join {{ ref('currency_rates') }} as rates
        on campaigns.currency = rates.currency

),

acquired_per_campaign as (

    select
        acquisition_campaign_id as campaign_id,
        count(*) as contacts_acquired
    from contacts
    where acquisition_campaign_id is not null
    group by acquisition_campaign_id

)

select
    contacts.contact_id,
    contacts.acquisition_campaign_id,
    coalesce(
        campaigns.campaign_cost / acquired_per_campaign.contacts_acquired, 0
    ) as acquisition_cost
from contacts
left join acquired_per_campaign
    on contacts.acquisition_campaign_id = acquired_per_campaign.campaign_id
left join campaigns
    on contacts.acquisition_campaign_id = campaigns.campaign_id
