{#
    Incremental like its input: each night the sessions with an event in the look-back window are rebuilt from
    all their pieces (int_web_session_days_aggregated). The pre-hook first removes every session that started
    inside the window (up to run_date), so a session that late events merged into another or split does not
    survive under its old id; sessions carried over from before the window are replaced through their
    session_id. Both happen in one transaction.
#}
{{
    config(
        materialized='incremental',
        unique_key='session_id',
        pre_hook="{{ delete_web_window('session_started_date', ref('int_web_events_sessionized')) }}",
        indexes=[
            {'columns': ['session_id'], 'unique': true},
            {'columns': ['session_started_date']},
            {'columns': ['anonymous_id']},
        ],
    )
}}

{% set window_start_date = web_window_start(ref('int_web_events_sessionized')) %}

with

pieces as (

    {# A session's pieces (one per store-local day), added up: far fewer rows than its events. #}
    select * from {{ ref('int_web_session_days_aggregated') }}
    where occurred_date <= {{ run_date() }}
    {% if is_incremental() %}
        and session_id in (
            select session_id from {{ ref('int_web_session_days_aggregated') }}
            where occurred_date >= {{ window_start_date }}
                and occurred_date <= {{ run_date() }}
        )
    {% endif %}

),

pieces_ranked as (

    select
        *,
        row_number() over (partition by session_id order by occurred_date) as piece_number,
        row_number() over (
            partition by session_id
            order by case when logged_in_customer_id is null then 1 else 0 end, logged_in_at desc
        ) as login_recency_rank
    from pieces

),

sessions as (

    select
        session_id,
        anonymous_id,
        min(first_occurred_at) as session_started_at,
        max(last_occurred_at) as session_ended_at,
        sum(count_events) as count_events,
        sum(count_pages) as count_pages,
        sum(count_page_views) as count_page_views,
        sum(count_product_views) as count_product_views,
        sum(count_searches) as count_searches,
        sum(count_cart_adds) as count_cart_adds,
        sum(count_cart_removes) as count_cart_removes,
        sum(count_logins) as count_logins,
        sum(count_checkouts) > 0 as has_reached_checkout,
        sum(count_purchases) > 0 as is_converted,
        max(purchased_order_id) as purchased_order_id,
        max(case when login_recency_rank = 1 then logged_in_customer_id end) as logged_in_customer_id,
        max(case when piece_number = 1 then device end) as device,
        max(case when piece_number = 1 then referrer end) as referrer,
        max(case when piece_number = 1 then first_page_url end) as landing_page_url
    from pieces_ranked
    group by session_id, anonymous_id

),

final as (

    select
        session_id,
        anonymous_id,
        logged_in_customer_id,
        session_started_at,
        session_ended_at,
        {{ store_local_date('session_started_at') }} as session_started_date,
        cast({{ dbt.datediff('session_started_at', 'session_ended_at', 'second') }} as {{ dbt.type_int() }})
            as duration_seconds,
        count_events,
        count_pages,
        count_page_views,
        count_product_views,
        count_searches,
        count_cart_adds,
        count_cart_removes,
        count_logins,
        has_reached_checkout,
        is_converted,
        count_cart_adds > 0 and not is_converted as has_abandoned_cart,
        purchased_order_id,
        device,
        referrer,
        landing_page_url
    from sessions

)

select * from final
