with

source as (

    select * from {{ source('shop', 'customers') }}

),

latest as (

    {{ deduplicate('source', 'customer_id', 'updated_at desc, _partition_date desc, _load_id desc, _line_number desc') }}

),

renamed as (

    select
        customer_id,
        signup_at,
        consent_email as has_email_consent,
        consent_sms as has_sms_consent,
        nullif(trim(lower(email)), '') as email,
        nullif(trim(phone), '') as phone,
        first_name,
        last_name,
        birth_date,
        city,
        upper(country) as country_code,
        time_zone,
        updated_at,
        _source_file as source_file,
        _partition_date as partition_date

    from latest

)

select * from renamed
