{#
    Sessions cut at store-local midnight: one row per session and store-local day with the events of that day. Point-in-time
    features use these pieces so that nothing that happened on or after an as-of date leaks into them, not
    even the rest of a session that was still running at midnight; int_web_sessions_aggregated adds them up. Incremental like its input: each night the
    days of the look-back window are replaced (the pre-hook deletes them, the run inserts them again).
#}
{{
    config(
        materialized='incremental',
        unique_key='session_day_id',
        pre_hook="{{ delete_web_window('occurred_date', ref('int_web_events_sessionized')) }}",
        indexes=[
            {'columns': ['session_day_id'], 'unique': true},
            {'columns': ['occurred_date']},
            {'columns': ['session_id']},
        ],
    )
}}

with

events as (

    select * from {{ ref('int_web_events_sessionized') }}
    where occurred_date <= {{ run_date() }}
    {% if is_incremental() %}
        and occurred_date >= {{ web_window_start(ref('int_web_events_sessionized')) }}
    {% endif %}

),

events_ranked as (

    select
        *,
        row_number() over (partition by session_id, occurred_date order by occurred_at, event_id) as event_number,
        row_number() over (
            partition by session_id, occurred_date
            order by case when customer_id is null then 1 else 0 end, occurred_at desc, event_id desc
        ) as login_recency_rank
    from events

),

final as (

    select
        {{ dbt.concat(["session_id", "'|'", dbt.cast("occurred_date", dbt.type_string())]) }} as session_day_id,
        session_id,
        anonymous_id,
        occurred_date,
        min(session_started_at) as session_started_at,
        min(occurred_at) as first_occurred_at,
        max(occurred_at) as last_occurred_at,
        max(case when login_recency_rank = 1 then customer_id end) as logged_in_customer_id,
        max(case when login_recency_rank = 1 and customer_id is not null then occurred_at end) as logged_in_at,
        count(*) as count_events,
        sum(
            case when event_type in ('page_view', 'product_view', 'search', 'login', 'checkout', 'purchase') then 1 else 0 end
        ) as count_pages,
        sum(case when event_type = 'page_view' then 1 else 0 end) as count_page_views,
        sum(case when event_type = 'product_view' then 1 else 0 end) as count_product_views,
        sum(case when event_type = 'search' then 1 else 0 end) as count_searches,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as count_cart_adds,
        sum(case when event_type = 'remove_from_cart' then 1 else 0 end) as count_cart_removes,
        sum(case when event_type = 'login' then 1 else 0 end) as count_logins,
        sum(case when event_type = 'checkout' then 1 else 0 end) as count_checkouts,
        sum(case when event_type = 'purchase' then 1 else 0 end) as count_purchases,
        max(purchased_order_id) as purchased_order_id,
        max(case when event_number = 1 then device end) as device,
        max(case when event_number = 1 then referrer end) as referrer,
        max(case when event_number = 1 then page_url end) as first_page_url
    from events_ranked
    group by session_id, anonymous_id, occurred_date

)

select * from final
