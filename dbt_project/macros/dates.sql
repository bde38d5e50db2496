{#
    Dates in this project are UTC calendar dates of UTC timestamps, whatever the session time zone of the
    warehouse connection: a plain cast of a timestamptz to date would use the session's zone.
#}
{% macro utc_date(timestamp_column) -%}
    {{ return(adapter.dispatch('utc_date')(timestamp_column)) }}
{%- endmacro %}

{% macro default__utc_date(timestamp_column) -%}
    cast({{ timestamp_column }} as date)
{%- endmacro %}

{% macro postgres__utc_date(timestamp_column) -%}
    cast(({{ timestamp_column }} at time zone 'UTC') as date)
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


{# The business day the run processes, and the first instant after it (UTC). #}
{% macro run_date() -%}
    cast('{{ var("run_date") }}' as date)
{%- endmacro %}

{% macro date_literal(iso_date) -%}
    cast('{{ iso_date }}' as date)
{%- endmacro %}


{# The instant a UTC date starts, as a timestamp with time zone. #}
{% macro utc_midnight(date_column) -%}
    {{ return(adapter.dispatch('utc_midnight')(date_column)) }}
{%- endmacro %}

{% macro default__utc_midnight(date_column) -%}
    cast({{ date_column }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro postgres__utc_midnight(date_column) -%}
    (cast({{ date_column }} as timestamp) at time zone 'UTC')
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
