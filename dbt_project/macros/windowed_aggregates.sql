{#
    Windowed aggregates of the feature mart, one definition for every "<measure>_<window>" column.

    sum_in_window: the sum of `measure` over the rows dated in the trailing window
    [as_of_date - (offset_days + days), as_of_date - offset_days) that also meet `condition`; 0 for the others.
    `days=none` leaves the window open at the start (the caller's join to the as-of dates already bounds it), and
    `offset_days=0` closes it at the as-of date itself, which the caller's join already guarantees (every row is
    dated before the as-of date), so no upper bound is written: the rendered SQL is the one written out by hand.
#}
{% macro sum_in_window(measure, date_column, as_of_date, days=none, offset_days=0, condition=none) -%}
    {%- set predicates = [] -%}
    {%- if condition -%}
        {%- do predicates.append(condition) -%}
    {%- endif -%}
    {%- if offset_days -%}
        {%- do predicates.append(date_column ~ ' < ' ~ dbt.dateadd('day', -offset_days, as_of_date)) -%}
    {%- endif -%}
    {%- if days -%}
        {%- do predicates.append(date_column ~ ' >= ' ~ dbt.dateadd('day', -(offset_days + days), as_of_date)) -%}
    {%- endif -%}
    sum(case when {{ predicates | join(' and ') if predicates else 'true' }} then {{ measure }} else 0 end)
{%- endmacro %}


{#
    The change of a daily rate: the recent window's count per day minus the previous window's count per day (both
    windows' counts are null when the customer had no row in either, which counts as 0).
#}
{% macro rate_trend(recent, recent_days, previous, previous_days) -%}
    cast(
        coalesce({{ recent }}, 0) / {{ recent_days }}.0 - coalesce({{ previous }}, 0) / {{ previous_days }}.0
        as {{ dbt.type_float() }}
    )
{%- endmacro %}


{# A count from a left-joined aggregate: 0 when the customer had no row there. #}
{% macro count_or_zero(column) -%}
    cast(coalesce({{ column }}, 0) as {{ dbt.type_bigint() }})
{%- endmacro %}
