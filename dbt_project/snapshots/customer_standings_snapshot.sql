{#
    History of each customer's standing (SCD type 2): RFM segment, Pareto class, loyalty and lifecycle status and
    channel consent, as the nightly customer view computed them. A new version starts when any of them changes,
    valid from the start of the day after the run's business day in the store's zone (the standing's as-of instant,
    as UTC without time zone like dbt's snapshot columns), so a point-in-time join at any instant of a store-local
    day sees the standing of the night before it.
#}
{% snapshot customer_standings_snapshot %}

{{
    config(
        unique_key='customer_id',
        strategy='check',
        check_cols=[
            'rfm_segment', 'pareto_class', 'loyalty_status', 'lifecycle_status',
            'has_email_consent', 'has_sms_consent',
        ],
        updated_at='standing_as_of_at',
    )
}}

select
    customer_id,
    rfm_segment,
    pareto_class,
    loyalty_status,
    lifecycle_status,
    has_email_consent,
    has_sms_consent,
    {{ utc_naive(store_day_start(dbt.dateadd('day', 1, run_date()))) }} as standing_as_of_at
from {{ ref('dim_customers') }}

{% endsnapshot %}
