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


{#
    Pre-hook of the incremental web models: remove the rows dated inside this night's look-back window (up to
    run_date), so that rows late events merged, split or moved do not survive under their old key. The caller
    passes ref('int_web_events_sessionized') itself, so the dependency stays visible in the model.
#}
{% macro delete_web_window(date_column, sessionized_events) -%}
    {% if is_incremental() %}
    delete from {{ this }}
    where {{ date_column }} >= {{ web_window_start(sessionized_events) }}
        and {{ date_column }} <= {{ run_date() }}
    {% endif %}
{%- endmacro %}


{#
    Whether a date is one of the history's as-of dates: a month start, or with var('as_of_grain') 'week' also a
    Monday (the ISO week start). Any other as-of date is a night's scoring date (run_date + 1).
#}
{% macro is_history_as_of_date(date_expr) -%}
    {%- set grain = var('as_of_grain') -%}
    {%- if grain not in ('month', 'week') -%}
        {{ exceptions.raise_compiler_error("var as_of_grain must be 'month' or 'week', found '" ~ grain ~ "'") }}
    {%- endif -%}
    ({{ date_expr }} = cast({{ dbt.date_trunc('month', date_expr) }} as date)
    {%- if grain == 'week' %} or {{ date_expr }} = cast({{ dbt.date_trunc('week', date_expr) }} as date){% endif -%})
{%- endmacro %}


{#
    Pre-hook of the models kept per as-of date (history dates, run_date + 1 for the night): drop the previous
    night's as-of date unless it is a history date, and any as-of date after run_date + 1 (left by a later run
    when an earlier day is re-run).
#}
{% macro delete_stale_as_of_dates() -%}
    {% if is_incremental() %}
    delete from {{ this }}
    where (
        not {{ is_history_as_of_date('as_of_date') }}
        and as_of_date <> {{ dbt.dateadd('day', 1, run_date()) }}
    )
        or as_of_date > {{ dbt.dateadd('day', 1, run_date()) }}
    {% endif %}
{%- endmacro %}
