{#
    Incremental, unlike the rest of this folder: the clickstream is the one large input. Each night only events
    that occurred from run_date - web_lookback_days up to run_date are (re)sessionised and replace their earlier
    version (delete+insert on event_id), so events delivered up to web_lookback_days late land in the right
    session; after missed nights the window starts web_lookback_days before the day after the latest event
    already sessionised, so the next run catches up. A session still open at the window start is carried over:
    the visitor's last event of the day before the window seeds the gap rule, and a continuing session keeps its
    start and id. Events older than the window that arrive later than the look-back are picked up by the next
    --full-refresh. sessionized_run_date tells the downstream web models which days this run re-sessionised.
#}
{{
    config(
        materialized='incremental',
        unique_key='event_id',
        indexes=[
            {'columns': ['event_id'], 'unique': true},
            {'columns': ['occurred_date']},
            {'columns': ['session_id']},
            {'columns': ['sessionized_run_date', 'occurred_date']},
        ],
    )
}}

{% set window_start_date %}
    cast(
        coalesce(
            (
                select {{ dbt.dateadd('day', 1 - var('web_lookback_days'), 'max(occurred_date)') }}
                from {{ this }}
                having max(occurred_date) < {{ dbt.dateadd('day', -1, run_date()) }}
            ),
            {{ dbt.dateadd('day', -1 * var('web_lookback_days'), run_date()) }}
        ) as date
    )
{% endset %}

with

events as (

    select * from {{ ref('stg_web__events') }}
    where occurred_date <= {{ run_date() }}
    {% if is_incremental() %}
        and occurred_date >= {{ window_start_date }}
    {% endif %}

),

{% if is_incremental() %}

sessionized_day_before_window as (

    select * from {{ this }}
    where occurred_date = {{ dbt.dateadd('day', -1, window_start_date) }}

),

last_event_before_window as (

    select
        *,
        row_number() over (
            partition by anonymous_id
            order by occurred_at desc, event_id desc
        ) as recency_rank
    from sessionized_day_before_window

),

{% endif %}

window_events as (

    select
        event_id,
        anonymous_id,
        customer_id,
        event_type,
        product_id,
        search_query,
        page_url,
        referrer,
        device,
        occurred_at,
        occurred_date,
        partition_date,
        cast(null as timestamp with time zone) as carried_session_started_at,
        false as is_carried
    from events

    {% if is_incremental() %}

    union all

    {# The previous state of each visitor, only to seed the gap rule; it is not emitted again. #}
    select
        event_id,
        anonymous_id,
        customer_id,
        event_type,
        product_id,
        search_query,
        page_url,
        referrer,
        device,
        occurred_at,
        occurred_date,
        partition_date,
        session_started_at as carried_session_started_at,
        true as is_carried
    from last_event_before_window
    where recency_rank = 1

    {% endif %}

),

gaps_measured as (

    select
        *,
        lag(occurred_at) over (
            partition by anonymous_id
            order by occurred_at, event_id
        ) as previous_occurred_at
    from window_events

),

session_starts_flagged as (

    select
        *,
        case
            when is_carried then carried_session_started_at
            when previous_occurred_at is null then occurred_at
            when occurred_at > {{ dbt.dateadd('minute', var('session_timeout_minutes'), 'previous_occurred_at') }}
                then occurred_at
        end as started_here_at
    from gaps_measured

),

sessions_assigned as (

    {# A visitor's session starts only grow over time, so the running maximum is the current session's start. #}
    select
        *,
        max(started_here_at) over (
            partition by anonymous_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as session_started_at
    from session_starts_flagged

),

final as (

    select
        event_id,
        {{ dbt.hash(dbt.concat(["anonymous_id", "'|'", dbt.cast("session_started_at", dbt.type_string())])) }}
            as session_id,
        session_started_at,
        anonymous_id,
        customer_id,
        event_type,
        product_id,
        search_query,
        page_url,
        referrer,
        device,
        case
            when event_type = 'purchase' and page_url like '%order=%'
                then nullif({{ dbt.split_part(dbt.split_part('page_url', "'order='", 2), "'&'", 1) }}, '')
        end as purchased_order_id,
        occurred_at,
        occurred_date,
        partition_date,
        {{ run_date() }} as sessionized_run_date
    from sessions_assigned
    where not is_carried

)

select * from final
