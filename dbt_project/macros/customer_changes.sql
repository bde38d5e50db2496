{#
    Which customers a night can have changed, for the models that keep one row per customer and recompute only
    those (dim_customers). They read the run_date their previous run left in the table and take the window of
    changes from it, so a night after missed nights catches up.
#}

{#
    The run_date of the previous build of a customer view: signup_date + tenure_days of any row (tenure counts to
    run_date). Null when the table is empty.
#}
{% macro previous_customer_view_run_date(relation) -%}
    (select max(cast({{ dbt.dateadd('day', 'tenure_days', 'signup_date') }} as date)) from {{ relation }})
{%- endmacro %}


{#
    The first day whose deliveries and activity a night looks at: late_data_days before the day after the previous
    run (before run_date when the previous run was run_date itself or later), like the other incremental models.
#}
{% macro customer_changes_start(previous_run_date) -%}
    cast(
        {{ dbt.dateadd('day', -1 * var('late_data_days'),
            'least(' ~ dbt.dateadd('day', 1, previous_run_date) ~ ', ' ~ run_date() ~ ')') }}
        as date
    )
{%- endmacro %}


{#
    Whether a dated row entered or left a trailing window of `days` days (dates after run_date - days) between the
    previous run and this one, in either direction (a re-run of an earlier day widens the window again).
#}
{% macro leaves_window_since(date_column, days, previous_run_date) -%}
    ({{ date_column }} between
        {{ dbt.dateadd('day', -1 * days, 'least(' ~ previous_run_date ~ ', ' ~ run_date() ~ ')') }}
        and {{ dbt.dateadd('day', -1 * days, 'greatest(' ~ previous_run_date ~ ', ' ~ run_date() ~ ')') }})
{%- endmacro %}


{#
    Pre-hook of an incremental customer view: drop the customers no longer in it (not signed up by run_date when an
    earlier day is re-run, or gone from the profiles). Every other customer is written again by the run.
#}
{% macro delete_customers_not_in_view(customers) -%}
    {% if is_incremental() %}
    delete from {{ this }}
    where customer_id not in (
        select customer_id from {{ customers }}
        where {{ store_local_date('signup_at') }} <= {{ run_date() }}
    )
    {% endif %}
{%- endmacro %}


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
