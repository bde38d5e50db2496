{#
    The single customer view as of the end of the store-local day run_date. Orders, reviews and web activity count up to and
    including run_date; the profile (consent, region) is the latest delivered version, so a consent withdrawal is
    honoured even when an earlier day is re-run. Contact details (names, e-mail, phone, birth date) are not here:
    they live in restricted.dim_customer_contacts, which only the action publishing step joins; BI reads this table. Standing (RFM, Pareto, loyalty, lifecycle) comes
    from int_customer_states_as_of at as_of_date = run_date + 1.
#}
with

customers as (

    select * from {{ ref('stg_shop__customers') }}
    where {{ store_local_date('signup_at') }} <= {{ run_date() }}

),

states as (

    select * from {{ ref('int_customer_states_as_of') }}
    where as_of_date = {{ dbt.dateadd('day', 1, run_date()) }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

reviews as (

    select * from {{ ref('fct_reviews') }}

),

sessions as (

    select * from {{ ref('fct_web_sessions') }}
    where customer_id is not null

),

category_purchases as (

    select * from {{ ref('int_category_purchases_sequenced') }}

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
        order_summary.first_ordered_at,
        order_summary.last_ordered_at,
        states.first_order_date,
        states.last_order_date,
        cast(states.count_orders as {{ dbt.type_bigint() }}) as count_orders,
        cast(coalesce(order_summary.count_orders_placed, 0) as {{ dbt.type_bigint() }}) as count_orders_placed,
        cast(coalesce(order_summary.count_cancelled_orders, 0) as {{ dbt.type_bigint() }}) as count_cancelled_orders,
        cast(coalesce(order_summary.count_returned_orders, 0) as {{ dbt.type_bigint() }}) as count_returned_orders,
        cast(states.total_revenue as numeric(14, 2)) as total_revenue,
        cast(case when states.count_orders > 0 then states.total_revenue / states.count_orders end as numeric(14, 2))
            as average_order_value,
        cast(states.days_since_last_order as {{ dbt.type_int() }}) as days_since_last_order,
        purchase_rhythm.avg_days_between_purchases,
        cast(
            case
                when purchase_rhythm.avg_days_between_purchases is not null
                    then {{ dbt.dateadd('day', 'cast(round(cast(purchase_rhythm.avg_days_between_purchases as numeric)) as ' ~ dbt.type_int() ~ ')', 'states.last_order_date') }}
            end as date
        ) as expected_next_order_date,
        next_replenishments.expected_next_purchase_date as next_replenishment_date,
        next_replenishments.category as next_replenishment_category,
        cast({{ dbt.datediff(run_date(), 'next_replenishments.expected_next_purchase_date', 'day') }} as {{ dbt.type_int() }})
            as days_until_next_replenishment,
        states.rfm_recency_score,
        states.rfm_frequency_score,
        states.rfm_monetary_score,
        states.rfm_score,
        states.rfm_segment,
        states.pareto_class,
        states.loyalty_status,
        states.lifecycle_status,
        latest_reviews.rating as latest_review_rating,
        review_summary.latest_reviewed_at,
        cast(coalesce(review_summary.count_reviews, 0) as {{ dbt.type_bigint() }}) as count_reviews,
        cast(coalesce(review_summary.count_complaints, 0) as {{ dbt.type_bigint() }}) as count_complaints,
        cast(coalesce(review_summary.count_open_complaints, 0) as {{ dbt.type_bigint() }}) as count_open_complaints,
        review_summary.last_complained_at,
        cast(coalesce(web_summary.count_sessions_7d, 0) as {{ dbt.type_bigint() }}) as count_sessions_7d,
        cast(coalesce(web_summary.count_sessions_30d, 0) as {{ dbt.type_bigint() }}) as count_sessions_30d,
        cast(coalesce(web_summary.count_product_views_30d, 0) as {{ dbt.type_bigint() }}) as count_product_views_30d,
        cast(coalesce(web_summary.count_abandoned_carts_30d, 0) as {{ dbt.type_bigint() }}) as count_abandoned_carts_30d,
        web_summary.last_session_at,
        web_summary.last_abandoned_cart_at,
        preferred_channels.channel as preferred_channel,
        contact_hours.preferred_contact_hour
    from customers
    inner join states
        on customers.customer_id = states.customer_id
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

)

select * from final
