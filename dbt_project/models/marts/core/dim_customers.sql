{#
    The single customer view as of the end of the store-local day run_date. Orders, reviews and web activity count up to and
    including run_date; the profile (consent, region) is the latest delivered version, so a consent withdrawal is
    honoured even when an earlier day is re-run. Contact details (names, e-mail, phone, birth date) are not here:
    they live in restricted.dim_customer_contacts, which only the action publishing step joins; BI reads this table. Standing (RFM, Pareto, loyalty, lifecycle)
    comes from int_customer_states_as_of at as_of_date = run_date + 1.

    Incremental (delete+insert on customer_id), because the summaries of each customer's whole history (orders,
    reviews, web sessions, replenishments, contact hour) cost most of a night and change for few customers. Every
    night still writes every customer: age band, tenure, standing, days until the next replenishment and the
    expected next order date move with run_date for everyone, and are cheap (the profile, one as-of date of the
    standings). The history summaries are recomputed only for the customers they can have changed for since the
    previous run (its run_date is signup_date + tenure_days of any row), and carried over from this table for
    the others:
    - orders and reviews placed or delivered (landing partition) in the last late_data_days days, so a return or
      a correction delivered months after the order counts the night it arrives;
    - a profile delivered in that window (its time zone places the contact hour);
    - every customer ever identified on a device whose events were (re)sessionised tonight, and every customer
      of that device's sessions (sessions merge, split and change hands with late events and new logins);
    - sessions and online orders leaving the 7-, 30- and 365-day windows since the previous run;
    - customers without a row yet.
    Not seen until the next full refresh, as in the models this one reads: a landing partition older than
    late_data_days delivered again, web events later than web_lookback_days, and a product whose category,
    consumable flag or use cycle changes (the replenishment dates of its earlier buyers).
    The pre-hook drops customers no longer in the view (not signed up by run_date when an earlier day is re-run).
#}
{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        pre_hook="{{ delete_customers_not_in_view(ref('stg_shop__customers')) }}",
    )
}}

{%- set summary_columns = [
    'first_ordered_at', 'last_ordered_at', 'count_orders_placed', 'count_cancelled_orders', 'count_returned_orders',
    'avg_days_between_purchases', 'next_replenishment_date', 'next_replenishment_category', 'latest_review_rating',
    'latest_reviewed_at', 'count_reviews', 'count_complaints', 'count_open_complaints', 'last_complained_at',
    'count_sessions_7d', 'count_sessions_30d', 'count_product_views_30d', 'count_abandoned_carts_30d',
    'last_session_at', 'last_abandoned_cart_at', 'preferred_channel', 'preferred_contact_hour',
] %}
{%- if is_incremental() %}
{%- set previous_run_date = previous_customer_view_run_date(this) %}
{%- set changes_start = customer_changes_start(previous_run_date) %}
{%- endif %}
-- depends_on: {{ ref('stg_shop__orders') }}, {{ ref('stg_shop__reviews') }}, {{ ref('int_web_events_sessionized') }}, {{ ref('int_web_identities_stitched') }}

with

customers as (

    select * from {{ ref('stg_shop__customers') }}
    where {{ store_local_date('signup_at') }} <= {{ run_date() }}

),

states as (

    select * from {{ ref('int_customer_states_as_of') }}
    where as_of_date = {{ dbt.dateadd('day', 1, run_date()) }}

),

{% if is_incremental() %}

orders_delivered as (

    {# New orders, and orders delivered again (a return, a correction) however old. #}
    select customer_id from {{ ref('stg_shop__orders') }}
    where partition_date >= {{ changes_start }}
        or ordered_date >= {{ changes_start }}

),

reviews_delivered as (

    select customer_id from {{ ref('stg_shop__reviews') }}
    where partition_date >= {{ changes_start }}
        or created_date >= {{ changes_start }}

),

profiles_delivered as (

    select customer_id from {{ ref('stg_shop__customers') }}
    where partition_date >= {{ changes_start }}

),

online_orders_leaving_window as (

    select customer_id from {{ ref('fct_orders') }}
    where channel <> 'store'
        and {{ leaves_window_since('ordered_date', 365, previous_run_date) }}

),

visitors_sessionized as (

    select distinct anonymous_id from {{ ref('int_web_events_sessionized') }}
    where sessionized_run_date = {{ run_date() }}

),

visitor_identities as (

    select customer_id from {{ ref('int_web_identities_stitched') }}
    where anonymous_id in (select visitors_sessionized.anonymous_id from visitors_sessionized)

),

visitor_sessions as (

    select customer_id from {{ ref('fct_web_sessions') }}
    where customer_id is not null
        and (
            anonymous_id in (select visitors_sessionized.anonymous_id from visitors_sessionized)
            or {{ leaves_window_since('session_started_date', 7, previous_run_date) }}
            or {{ leaves_window_since('session_started_date', 30, previous_run_date) }}
            or {{ leaves_window_since('session_started_date', 365, previous_run_date) }}
        )

),

customers_changed as (

    select customer_id from orders_delivered
    union
    select customer_id from reviews_delivered
    union
    select customer_id from profiles_delivered
    union
    select customer_id from online_orders_leaving_window
    union
    select customer_id from visitor_identities
    union
    select customer_id from visitor_sessions
    union
    select customers.customer_id from customers
    where not exists (select 1 from {{ this }} as previous where previous.customer_id = customers.customer_id)

),

{% endif %}

{#- Each input holds only the customers whose summaries are recomputed (every customer in a full build). #}
{%- set only_customers_changed -%}
    {% if is_incremental() %}customer_id in (select customers_changed.customer_id from customers_changed){% else %}true{% endif %}
{%- endset %}

orders as (

    select * from {{ ref('fct_orders') }}
    where {{ only_customers_changed }}

),

reviews as (

    select * from {{ ref('fct_reviews') }}
    where {{ only_customers_changed }}

),

sessions as (

    select * from {{ ref('fct_web_sessions') }}
    where customer_id is not null
        and {{ only_customers_changed }}

),

category_purchases as (

    select * from {{ ref('int_category_purchases_sequenced') }}
    where {{ only_customers_changed }}

),

order_summary as (

    select
        customer_id,
        count(*) as count_orders_placed,
        sum(case when is_cancelled then 1 else 0 end) as count_cancelled_orders,
        sum(case when is_returned then 1 else 0 end) as count_returned_orders,
        min(case when is_completed then ordered_at end) as first_ordered_at,
        max(case when is_completed then ordered_at end) as last_ordered_at
    from orders
    group by customer_id

),

channel_counts as (

    select
        customer_id,
        channel,
        count(*) as count_orders,
        max(ordered_at) as last_ordered_at
    from orders
    group by customer_id, channel

),

preferred_channels as (

    {{ deduplicate('channel_counts', 'customer_id', 'count_orders desc, last_ordered_at desc, channel') }}

),

timed_activity as (

    {# What the customer does on their own initiative, at a time of their choosing: online orders and visits. #}
    select customer_id, ordered_at as active_at
    from orders
    where channel <> 'store'
        and ordered_date > {{ dbt.dateadd('day', -365, run_date()) }}

    union all

    select customer_id, session_started_at as active_at
    from sessions
    where session_started_date > {{ dbt.dateadd('day', -365, run_date()) }}

),

local_hours as (

    select
        timed_activity.customer_id,
        extract(hour from {{ local_timestamp('timed_activity.active_at', "coalesce(customers.time_zone, '" ~ var('store_time_zone') ~ "')") }})
            + extract(minute from {{ local_timestamp('timed_activity.active_at', "coalesce(customers.time_zone, '" ~ var('store_time_zone') ~ "')") }}) / 60.0
            as local_hour
    from timed_activity
    inner join customers
        on timed_activity.customer_id = customers.customer_id

),

contact_hours as (

    {# Circular mean of the local hours, so 23:00 and 01:00 average to midnight, not noon. #}
    select
        customer_id,
        count(*) as count_timed_activities,
        cast(
            floor(
                mod(
                    cast(
                        degrees(atan2(avg(sin(radians(local_hour * 15))), avg(cos(radians(local_hour * 15))))) / 15 + 24
                        as numeric
                    ),
                    24
                )
            ) as {{ dbt.type_int() }}
        ) as preferred_contact_hour
    from local_hours
    group by customer_id

),

review_summary as (

    select
        customer_id,
        sum(case when review_kind = 'review' then 1 else 0 end) as count_reviews,
        sum(case when is_complaint then 1 else 0 end) as count_complaints,
        sum(case when is_open_complaint then 1 else 0 end) as count_open_complaints,
        max(case when is_complaint then created_at end) as last_complained_at,
        max(created_at) as latest_reviewed_at
    from reviews
    group by customer_id

),

latest_reviews as (

    {{ deduplicate('reviews', 'customer_id', 'created_at desc, review_id desc') }}

),

web_summary as (

    select
        customer_id,
        sum(case when session_started_date > {{ dbt.dateadd('day', -7, run_date()) }} then 1 else 0 end)
            as count_sessions_7d,
        sum(case when session_started_date > {{ dbt.dateadd('day', -30, run_date()) }} then 1 else 0 end)
            as count_sessions_30d,
        sum(
            case when session_started_date > {{ dbt.dateadd('day', -30, run_date()) }} then count_product_views else 0 end
        ) as count_product_views_30d,
        sum(
            case
                when session_started_date > {{ dbt.dateadd('day', -30, run_date()) }} and has_abandoned_cart then 1
                else 0
            end
        ) as count_abandoned_carts_30d,
        max(session_started_at) as last_session_at,
        max(case when has_abandoned_cart then session_started_at end) as last_abandoned_cart_at,
        max(case when is_converted then session_started_at end) as last_converted_session_at
    from sessions
    group by customer_id

),

category_latest as (

    {{ deduplicate('category_purchases', 'customer_id, category', 'purchased_date desc') }}

),

replenishments_due as (

    select * from category_latest
    where has_consumable
        and expected_next_purchase_date is not null

),

next_replenishments as (

    {{ deduplicate('replenishments_due', 'customer_id', 'expected_next_purchase_date, category') }}

),

purchase_rhythm as (

    select
        customer_id,
        case
            when count(*) > 1
                then cast({{ dbt.datediff('min(ordered_date)', 'max(ordered_date)', 'day') }} as {{ dbt.type_float() }})
                    / (count(*) - 1)
        end as avg_days_between_purchases
    from orders
    where is_completed
    group by customer_id

),

summaries as (

    select
        customers.customer_id,
        order_summary.first_ordered_at,
        order_summary.last_ordered_at,
        order_summary.count_orders_placed,
        order_summary.count_cancelled_orders,
        order_summary.count_returned_orders,
        purchase_rhythm.avg_days_between_purchases,
        next_replenishments.expected_next_purchase_date as next_replenishment_date,
        next_replenishments.category as next_replenishment_category,
        latest_reviews.rating as latest_review_rating,
        review_summary.latest_reviewed_at,
        review_summary.count_reviews,
        review_summary.count_complaints,
        review_summary.count_open_complaints,
        review_summary.last_complained_at,
        web_summary.count_sessions_7d,
        web_summary.count_sessions_30d,
        web_summary.count_product_views_30d,
        web_summary.count_abandoned_carts_30d,
        web_summary.last_session_at,
        web_summary.last_abandoned_cart_at,
        preferred_channels.channel as preferred_channel,
        contact_hours.preferred_contact_hour
    from customers
    left join order_summary
        on customers.customer_id = order_summary.customer_id
    left join preferred_channels
        on customers.customer_id = preferred_channels.customer_id
    left join contact_hours
        on customers.customer_id = contact_hours.customer_id
    left join review_summary
        on customers.customer_id = review_summary.customer_id
    left join latest_reviews
        on customers.customer_id = latest_reviews.customer_id
    left join web_summary
        on customers.customer_id = web_summary.customer_id
    left join next_replenishments
        on customers.customer_id = next_replenishments.customer_id
    left join purchase_rhythm
        on customers.customer_id = purchase_rhythm.customer_id
    {% if is_incremental() %}
    where customers.customer_id in (select customers_changed.customer_id from customers_changed)
    {% endif %}

    {% if is_incremental() %}

    union all

    {# Everyone else's summaries are as the previous run left them. #}
    select
        previous.customer_id,
        {%- for column in summary_columns %}
        previous.{{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ this }} as previous
    {# not exists, not "not in": PostgreSQL runs the latter as a subplan per row (quadratic) on a CTE. #}
    where not exists (
        select 1 from customers_changed where customers_changed.customer_id = previous.customer_id
    )

    {% endif %}

),

final as (

    select
        customers.customer_id,
        {# An age band, not the birth date: enough to group by, too coarse to identify anyone. #}
        case
            when customers.birth_date is null then 'unknown'
            when {{ dbt.datediff('customers.birth_date', run_date(), 'day') }} < 25 * 365.25 then 'under 25'
            when {{ dbt.datediff('customers.birth_date', run_date(), 'day') }} < 35 * 365.25 then '25-34'
            when {{ dbt.datediff('customers.birth_date', run_date(), 'day') }} < 45 * 365.25 then '35-44'
            when {{ dbt.datediff('customers.birth_date', run_date(), 'day') }} < 55 * 365.25 then '45-54'
            when {{ dbt.datediff('customers.birth_date', run_date(), 'day') }} < 65 * 365.25 then '55-64'
            else '65 and over'
        end as age_band,
        customers.city,
        customers.country_code,
        coalesce(customers.time_zone, '{{ var("store_time_zone") }}') as time_zone,
        customers.signup_at,
        {{ store_local_date('customers.signup_at') }} as signup_date,
        {{ dbt.datediff(store_local_date('customers.signup_at'), run_date(), 'day') }} as tenure_days,
        customers.has_email_consent,
        customers.has_sms_consent,
        customers.has_email_consent and customers.email is not null as is_email_contactable,
        customers.has_sms_consent and customers.phone is not null as is_sms_contactable,
        customers.updated_at as profile_updated_at,
        summaries.first_ordered_at,
        summaries.last_ordered_at,
        states.first_order_date,
        states.last_order_date,
        cast(states.count_orders as {{ dbt.type_bigint() }}) as count_orders,
        cast(coalesce(summaries.count_orders_placed, 0) as {{ dbt.type_bigint() }}) as count_orders_placed,
        cast(coalesce(summaries.count_cancelled_orders, 0) as {{ dbt.type_bigint() }}) as count_cancelled_orders,
        cast(coalesce(summaries.count_returned_orders, 0) as {{ dbt.type_bigint() }}) as count_returned_orders,
        cast(states.total_revenue as numeric(14, 2)) as total_revenue,
        cast(case when states.count_orders > 0 then states.total_revenue / states.count_orders end as numeric(14, 2))
            as average_order_value,
        cast(states.days_since_last_order as {{ dbt.type_int() }}) as days_since_last_order,
        summaries.avg_days_between_purchases,
        cast(
            case
                when summaries.avg_days_between_purchases is not null
                    then {{ dbt.dateadd('day', 'cast(round(cast(summaries.avg_days_between_purchases as numeric)) as ' ~ dbt.type_int() ~ ')', 'states.last_order_date') }}
            end as date
        ) as expected_next_order_date,
        summaries.next_replenishment_date,
        summaries.next_replenishment_category,
        cast({{ dbt.datediff(run_date(), 'summaries.next_replenishment_date', 'day') }} as {{ dbt.type_int() }})
            as days_until_next_replenishment,
        states.rfm_recency_score,
        states.rfm_frequency_score,
        states.rfm_monetary_score,
        states.rfm_score,
        states.rfm_segment,
        states.pareto_class,
        states.loyalty_status,
        states.lifecycle_status,
        summaries.latest_review_rating,
        summaries.latest_reviewed_at,
        cast(coalesce(summaries.count_reviews, 0) as {{ dbt.type_bigint() }}) as count_reviews,
        cast(coalesce(summaries.count_complaints, 0) as {{ dbt.type_bigint() }}) as count_complaints,
        cast(coalesce(summaries.count_open_complaints, 0) as {{ dbt.type_bigint() }}) as count_open_complaints,
        summaries.last_complained_at,
        cast(coalesce(summaries.count_sessions_7d, 0) as {{ dbt.type_bigint() }}) as count_sessions_7d,
        cast(coalesce(summaries.count_sessions_30d, 0) as {{ dbt.type_bigint() }}) as count_sessions_30d,
        cast(coalesce(summaries.count_product_views_30d, 0) as {{ dbt.type_bigint() }}) as count_product_views_30d,
        cast(coalesce(summaries.count_abandoned_carts_30d, 0) as {{ dbt.type_bigint() }}) as count_abandoned_carts_30d,
        summaries.last_session_at,
        summaries.last_abandoned_cart_at,
        summaries.preferred_channel,
        summaries.preferred_contact_hour
    from customers
    inner join states
        on customers.customer_id = states.customer_id
    left join summaries
        on customers.customer_id = summaries.customer_id

)

select * from final
