{#
    Logged-in web activity per customer and store-local day, the web part of "active customer". Incremental like the
    events: each night the look-back window's days are replaced (pre-hook delete, then insert), so the nightly
    activity model reads a few hundred thousand rows instead of scanning the clickstream.
#}
{{
    config(
        materialized='incremental',
        unique_key='customer_web_day_id',
        pre_hook="{{ delete_web_window('occurred_date', ref('int_web_events_sessionized')) }}",
        indexes=[
            {'columns': ['customer_web_day_id'], 'unique': true},
            {'columns': ['occurred_date']},
        ],
    )
}}

with

events as (

    select * from {{ ref('int_web_events_sessionized') }}
    where customer_id is not null
        and occurred_date <= {{ run_date() }}
    {% if is_incremental() %}
        and occurred_date >= {{ web_window_start(ref('int_web_events_sessionized')) }}
    {% endif %}

),

final as (

    select
        {{ dbt.concat(["customer_id", "'|'", dbt.cast("occurred_date", dbt.type_string())]) }} as customer_web_day_id,
        customer_id,
        occurred_date,
        count(*) as count_logged_in_events,
        count(distinct session_id) as count_sessions,
        min(occurred_at) as first_occurred_at,
        max(occurred_at) as last_occurred_at
    from events
    group by customer_id, occurred_date

)

select * from final
