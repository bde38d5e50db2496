{#
    One definition of "day" for the whole pipeline: the store-local calendar of var('store_time_zone') (pipeline.yml's
    store_time_zone, passed by the pipeline). Timestamps stay UTC in storage; every date, day window, month and
    as-of boundary is a calendar date in the store's zone, so the KPI marts agree with the retailer's own books.
    A daylight-saving day lasts 23 or 25 hours and is still one day. proactive_crm/store_calendar.py is the same
    definition for Python.
#}
{% macro store_local_date(timestamp_column) -%}
    {{ return(adapter.dispatch('store_local_date')(timestamp_column)) }}
{%- endmacro %}

{% macro default__store_local_date(timestamp_column) -%}
    cast(convert_timezone('UTC', '{{ var("store_time_zone") }}', {{ timestamp_column }}) as date)
{%- endmacro %}

{% macro postgres__store_local_date(timestamp_column) -%}
    cast(({{ timestamp_column }} at time zone '{{ var("store_time_zone") }}') as date)
{%- endmacro %}


{#
    The instant (timestamp with time zone) a store-local date starts: local midnight, or the first local time of
    the day when a daylight-saving change skips midnight (PostgreSQL reads a skipped wall-clock time with the
    offset before the change, as Python's zoneinfo does with fold=0).
#}
{% macro store_day_start(date_column) -%}
    {{ return(adapter.dispatch('store_day_start')(date_column)) }}
{%- endmacro %}

{% macro default__store_day_start(date_column) -%}
    convert_timezone('{{ var("store_time_zone") }}', 'UTC', cast({{ date_column }} as {{ dbt.type_timestamp() }}))
{%- endmacro %}

{% macro postgres__store_day_start(date_column) -%}
    (cast({{ date_column }} as timestamp) at time zone '{{ var("store_time_zone") }}')
{%- endmacro %}


{# Wall-clock timestamp of a UTC instant in an IANA time zone (for "hour of day" in the customer's own zone). #}
{% macro local_timestamp(timestamp_column, time_zone_column) -%}
    {{ return(adapter.dispatch('local_timestamp')(timestamp_column, time_zone_column)) }}
{%- endmacro %}

{% macro default__local_timestamp(timestamp_column, time_zone_column) -%}
    convert_timezone('UTC', {{ time_zone_column }}, {{ timestamp_column }})
{%- endmacro %}

{% macro postgres__local_timestamp(timestamp_column, time_zone_column) -%}
    ({{ timestamp_column }} at time zone {{ time_zone_column }})
{%- endmacro %}


{# The business day the run processes: a store-local date. #}
{% macro run_date() -%}
    cast('{{ night_var("run_date", "2026-10-31") }}' as date)
{%- endmacro %}

{#
    A value of the night (run_date, action_triggers, decision_at; see dbt_project.yml): a var when one is given
    (--vars typed by hand, a unit test's overrides), else the pipeline's CRM_DBT_NIGHT, else the default. The
    environment is read at execution only: an env_var read while parsing a macro is recorded against it, and a new
    value would make dbt re-parse every model that calls the macro, which is what moving the values out of --vars
    avoids. While parsing, the default stands in (nothing in a model's refs or configs depends on these values).
#}
{% macro night_var(name, default=none) -%}
    {%- set night = fromjson(env_var("CRM_DBT_NIGHT", "{}")) if execute else {} -%}
    {{ return(var(name, night.get(name, default))) }}
{%- endmacro %}

{% macro date_literal(iso_date) -%}
    cast('{{ iso_date }}' as date)
{%- endmacro %}


{#
    A UTC instant as a timestamp without time zone in UTC: the type dbt's snapshots use for their validity columns
    (snapshot_get_time), so snapshot updated_at columns are converted with it.
#}
{% macro utc_naive(timestamp_column) -%}
    {{ return(adapter.dispatch('utc_naive')(timestamp_column)) }}
{%- endmacro %}

{% macro default__utc_naive(timestamp_column) -%}
    cast({{ timestamp_column }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro postgres__utc_naive(timestamp_column) -%}
    ({{ timestamp_column }} at time zone 'UTC')
{%- endmacro %}
