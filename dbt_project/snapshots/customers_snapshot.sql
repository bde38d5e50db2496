{#
    Every version of every customer profile (SCD type 2), valid from the updated_at the source system wrote
    (as a UTC timestamp without time zone, the type of dbt's snapshot columns): consent and region changes are
    kept. Contact details are not: a history of someone's addresses is personal data nothing here needs, and it
    would outlive an erasure request. Versions delivered between two nightly runs collapse into the latest one;
    the raw layer keeps every delivered version if an exact replay is ever needed.
#}
{% snapshot customers_snapshot %}

{{
    config(
        unique_key='customer_id',
        strategy='timestamp',
        updated_at='updated_at_utc',
    )
}}

select
    customer_id,
    signup_at,
    has_email_consent,
    has_sms_consent,
    city,
    country_code,
    time_zone,
    updated_at,
    {{ utc_naive('updated_at') }} as updated_at_utc
from {{ ref('stg_shop__customers') }}

{% endsnapshot %}
