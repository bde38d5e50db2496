{#
    Which customer-days a night can have changed, for the incremental customer models that recompute only those
    (int_customer_activity_daily, int_lifecycle_statuses_counted).
#}


{#
    The first day int_customer_activity_daily recomputes for everyone: late_data_days before run_date, or earlier
    after missed nights or late events, following the web window (int_web_events_sessionized, passed in, has
    already run: the window starts web_lookback_days before its first day not yet sessionised).
#}
{% macro customer_activity_window_start(sessionized_events) -%}
    {%- set web_start = web_window_start(sessionized_events) -%}
    cast(
        least(
            {{ web_start }},
            {{ dbt.dateadd('day', var('web_lookback_days') - var('late_data_days'), web_start) }}
        ) as date
    )
{%- endmacro %}


{#
    Customers with an order or a review delivered (landing partition) since start but dated before it: a return,
    a correction or a late export. Their activity days are recomputed whatever their date.
#}
{% macro customers_delivered_late(orders, reviews, start) -%}
    select customer_id from {{ orders }}
    where partition_date >= {{ start }}
        and ordered_date < {{ start }}
    union
    select customer_id from {{ reviews }}
    where partition_date >= {{ start }}
        and created_date < {{ start }}
{%- endmacro %}


{#
    Pre-hook of int_customer_activity_daily: remove the days it recomputes (from the window start on, and every day
    of the customers with late deliveries), so a day that no longer has activity does not survive.
#}
{% macro delete_customer_activity_window(orders, reviews, sessionized_events) -%}
    {% if is_incremental() %}
    {%- set start = customer_activity_window_start(sessionized_events) %}
    delete from {{ this }}
    where activity_date >= {{ start }}
        or customer_id in ({{ customers_delivered_late(orders, reviews, start) }})
    {% endif %}
{%- endmacro %}


{#
    The first day int_lifecycle_statuses_counted recomputes: late_data_days before run_date, or the day after the
    latest day in the table when that is earlier (missed nights). Its pre-hook deletes from that day on, so the
    model, reading the table after the pre-hook, finds the same day.
#}
{% macro lifecycle_count_window_start() -%}
    cast(
        coalesce(
            least(
                (select {{ dbt.dateadd('day', 1, 'max(status_date)') }} from {{ this }}),
                {{ dbt.dateadd('day', -1 * var('late_data_days'), run_date()) }}
            ),
            {{ dbt.dateadd('day', -1 * var('late_data_days'), run_date()) }}
        ) as date
    )
{%- endmacro %}


{% macro delete_lifecycle_count_window() -%}
    {% if is_incremental() %}
    delete from {{ this }}
    where status_date >= {{ lifecycle_count_window_start() }}
    {% endif %}
{%- endmacro %}
