{#
    Sessions with the customer behind them. A session in which the visitor logged in belongs to that customer.
    Any other session of the same anonymous visitor (device) belongs to the customer the visitor was identified
    as at the time (login or purchase, up to run_date); sessions before the visitor's first identification go to
    the first customer identified, so earlier anonymous browsing is attributed too. On a shared device each
    stretch of anonymous sessions goes to the customer identified last before it.

    Incremental (unlike the other core marts: it is as large as the sessions): a night rebuilds the sessions with
    events in the look-back window and every session of a visitor identified in that window, whose earlier
    anonymous sessions may now belong to a customer. The pre-hook first removes the sessions that started in the
    window, as int_web_sessions_aggregated does.
#}
{{
    config(
        materialized='incremental',
        unique_key='session_id',
        pre_hook="{{ delete_web_window('session_started_date', ref('int_web_events_sessionized')) }}",
    )
}}

{% set window_start_date = web_window_start(ref('int_web_events_sessionized')) %}
{# Read only on incremental runs; declared so that dbt orders them before this model. #}
-- depends_on: {{ ref('int_web_session_days_aggregated') }}, {{ ref('int_web_events_sessionized') }}

with

sessions as (

    select * from {{ ref('int_web_sessions_aggregated') }}
    where session_started_date <= {{ run_date() }}
    {% if is_incremental() %}
        and (
            session_id in (
                select session_id from {{ ref('int_web_session_days_aggregated') }}
                where occurred_date >= {{ window_start_date }}
                    and occurred_date <= {{ run_date() }}
            )
            or anonymous_id in (
                select anonymous_id from {{ ref('int_web_events_sessionized') }}
                where occurred_date >= {{ window_start_date }}
                    and occurred_date <= {{ run_date() }}
                    and (customer_id is not null or purchased_order_id is not null)
            )
        )
    {% endif %}

),

identities as (

    select * from {{ ref('int_web_identities_stitched') }}

),

final as (

    select
        sessions.session_id,
        sessions.anonymous_id,
        coalesce(sessions.logged_in_customer_id, identities.customer_id) as customer_id,
        sessions.logged_in_customer_id,
        case
            when sessions.logged_in_customer_id is not null then 'login'
            when identities.customer_id is not null then 'stitched'
            else 'anonymous'
        end as identity_source,
        sessions.session_started_at,
        sessions.session_ended_at,
        sessions.session_started_date,
        sessions.duration_seconds,
        cast(sessions.count_events as {{ dbt.type_bigint() }}) as count_events,
        cast(sessions.count_pages as {{ dbt.type_bigint() }}) as count_pages,
        cast(sessions.count_page_views as {{ dbt.type_bigint() }}) as count_page_views,
        cast(sessions.count_product_views as {{ dbt.type_bigint() }}) as count_product_views,
        cast(sessions.count_searches as {{ dbt.type_bigint() }}) as count_searches,
        cast(sessions.count_cart_adds as {{ dbt.type_bigint() }}) as count_cart_adds,
        cast(sessions.count_cart_removes as {{ dbt.type_bigint() }}) as count_cart_removes,
        sessions.has_reached_checkout,
        sessions.is_converted,
        sessions.has_abandoned_cart,
        sessions.purchased_order_id,
        sessions.device,
        sessions.referrer,
        sessions.landing_page_url
    from sessions
    left join identities
        on sessions.anonymous_id = identities.anonymous_id
        and (
            (
                sessions.session_started_at >= identities.identified_from
                and (identities.identified_until is null or sessions.session_started_at < identities.identified_until)
            )
            or (identities.identity_number = 1 and sessions.session_started_at < identities.identified_from)
        )

)

select * from final
