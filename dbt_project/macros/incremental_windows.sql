{#
    The first store-local date a nightly run of the downstream web models (re)processes: the look-back before run_date,
    or earlier when nights were missed or late events were re-sessionised: the earliest event date that
    int_web_events_sessionized (passed in, it runs first) re-sessionised for this run_date.
#}
{% macro web_window_start(sessionized_events) -%}
    cast(
        coalesce(
            (
                select min(occurred_date) from {{ sessionized_events }}
                where sessionized_run_date = {{ run_date() }}
                    and occurred_date < {{ dbt.dateadd('day', -1 * var('web_lookback_days'), run_date()) }}
            ),
            {{ dbt.dateadd('day', -1 * var('web_lookback_days'), run_date()) }}
        ) as date
    )
{%- endmacro %}


{#
    The first day whose KPI period an incremental run of a KPI model (re)computes: late_data_days before run_date,
    or earlier when nights were missed (the day after the latest day period already in the table, minus
    late_data_days). Months are recomputed from the month of that day.
#}
{% macro kpi_window_start() -%}
    cast(
        coalesce(
            (
                select {{ dbt.dateadd('day', 1 - var('late_data_days'), 'max(period_start)') }}
                from {{ this }}
                where grain = 'day'
                having max(period_start) < {{ dbt.dateadd('day', -1, run_date()) }}
            ),
            {{ dbt.dateadd('day', -1 * var('late_data_days'), run_date()) }}
        ) as date
    )
{%- endmacro %}
