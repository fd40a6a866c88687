with base as (

    {{ crm_latest_good_rows(ref('base_crm__contacts')) }}

),

countries as (

    select * from {{ ref('country_codes') }}

),

renamed as (

    select
        base.contact_id,
        base.first_name,
        base.last_name,
        lower(base.email) as email,
        base.phone,
        base.street_address,
        base.company_name,
        lower(base.industry) as industry,
        base.account_type,
        coalesce(base.is_internal, false) as is_internal,
        coalesce(base.is_reference_customer, false) as is_reference_customer,
        base.birth_date,
        case base.gender
            when 'f' then 'female'
            when 'm' then 'male'
            when 'x' then 'other'
            else base.gender
        end as gender,
        base.income_band,
        base.country as country_as_extracted,
        countries.country_code,
        countries.country_name,
        countries.macro_region,
        base.region,
        base.city,
        base.acquisition_channel,
        base.acquisition_campaign_id,
        base.created_at,
        base.updated_at,
        base._source_file,
        base._loaded_at
    from base
    left join countries
        on lower(base.country) = countries.country_alias

)

select * from renamed
