{#
    Parameters of the action triggers (models/actions/triggers). The decide step passes the contact policy's
    `trigger:` settings of every action type as action_triggers ({action_type: {key: value}}) and the decision
    instant as decision_at, night values like run_date (macro night_var). Without them (dbt docs, a build typed by
    hand) a parameter renders as null and the trigger selects nothing.
#}
{% macro trigger_param(action_type, key) -%}
    {%- set value = (night_var('action_triggers', {}) or {}).get(action_type, {}).get(key) -%}
    {{- sql_literal(value) -}}
{%- endmacro %}

{# A Python value from the vars as SQL, typed as psycopg binds it (floats as double precision). #}
{% macro sql_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is string -%}
        '{{ value | replace("'", "''") }}'
    {%- elif value is iterable -%}
        array[{% for item in value %}{{ sql_literal(item) }}{{ ', ' if not loop.last }}{% endfor %}]
    {%- elif value is float -%}
        cast({{ value }} as double precision)
    {%- else -%}
        {{ value }}
    {%- endif -%}
{%- endmacro %}

{# The send day: run_date + 1 (features and scores are as of it too). #}
{% macro as_of_date() -%}
    cast({{ dbt.dateadd('day', 1, run_date()) }} as date)
{%- endmacro %}

{# 02:00 store time on the send day, in UTC (proactive_crm.actions.windows.decision_time). #}
{% macro decision_at() -%}
    {%- set value = night_var('decision_at') -%}
    {%- if value is none -%} cast(null as timestamptz) {%- else -%} cast('{{ value }}' as timestamptz) {%- endif -%}
{%- endmacro %}

{# Whether a relation exists now (false while parsing): optional inputs of a trigger are left out when missing. #}
{% macro relation_exists(relation) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(adapter.get_relation(database=relation.database, schema=relation.schema,
                                   identifier=relation.identifier) is not none) }}
{%- endmacro %}

{# The day of year of `day` is the send day's; 29 February counts on 28 February in years without one. #}
{% macro is_same_day_of_year(day) -%}
    (
        to_char({{ day }}, 'MM-DD') = to_char({{ as_of_date() }}, 'MM-DD')
        or (to_char({{ day }}, 'MM-DD') = '02-29' and to_char({{ as_of_date() }}, 'MM-DD') = '02-28'
            and to_char({{ as_of_date() }} + 1, 'MM-DD') = '03-01')
    )
{%- endmacro %}
