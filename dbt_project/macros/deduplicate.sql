{#
    The latest (first by order_by) row of each partition_by key, the way dbt_utils.deduplicate does it. On
    PostgreSQL DISTINCT ON also lets the planner estimate the result from the key's statistics; the row_number()
    filter it replaces was estimated at a fraction of a percent of the rows, which turned joins between staging
    models into nested loops on large inputs.
#}
{% macro deduplicate(relation, partition_by, order_by) -%}
    {{ return(adapter.dispatch('deduplicate')(relation, partition_by, order_by)) }}
{%- endmacro %}

{% macro default__deduplicate(relation, partition_by, order_by) -%}
    select *
    from (
        select
            *,
            row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as dedupe_rank
        from {{ relation }}
    ) as ranked
    where dedupe_rank = 1
{%- endmacro %}

{% macro postgres__deduplicate(relation, partition_by, order_by) -%}
    select distinct on ({{ partition_by }}) *
    from {{ relation }}
    order by {{ partition_by }}, {{ order_by }}
{%- endmacro %}
