with base as (

    {{ crm_latest_good_rows(ref('base_crm__referrals')) }}

),

renamed as (

    select
        referral_id,
        referrer_contact_id,
        referred_contact_id,
        referred_at,
        updated_at,
        _source_file,
        _loaded_at
    from base

)

select * from renamed
