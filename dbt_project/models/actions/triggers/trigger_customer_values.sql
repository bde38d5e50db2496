{#
    The customer's 90-day value and churn risk for the triggers and the decision step, with their source and
    reasons: the night's scores of ml.customer_scores (the latest as-of date up to the send day), else rules on
    dim_customers. The rules: the revenue rate over the customer's buying life scaled to 90 days (what the customer
    is worth while they stay), a churn risk that grows with the time since the last order relative to the
    customer's own rhythm (60 days by default), and the expected 90-day value = rate x (1 - churn risk). The
    rules also fill in whoever was not scored.

    A table, unlike the views beside it: three triggers and the decision step read it, and it is computed once.
#}
{{ config(materialized='table') }}

{% set scores = source('ml', 'customer_scores') %}
{% set score_columns = ['customer_id', 'as_of_date', 'model', 'model_version', 'method', 'is_fallback', 'score',
                        'reason_1', 'reason_2', 'reason_3'] %}
{% set latest = none %}
{% if relation_exists(scores) %}
    {% set present = adapter.get_columns_in_relation(scores) | map(attribute='name') | list %}
    {% if score_columns | reject('in', present) | list | length == 0 %}
        {% set found = run_query('select max(as_of_date) from ' ~ scores ~ ' where as_of_date <= ' ~ as_of_date()) %}
        {% set latest = found.columns[0].values()[0] %}
    {% endif %}
{% endif %}

with

customers as (

    select * from {{ ref('dim_customers') }}

),

rules as (

    select
        customer_id,
        case when count_orders > 0
            then total_revenue * 90.0 / greatest({{ as_of_date() }} - first_order_date, 90) else 0 end as rate,
        case when count_orders > 0
            then least(0.99, greatest(0.01, 1 - exp(-1.0 * coalesce(days_since_last_order, 0)
                / (2 * greatest(coalesce(avg_days_between_purchases, 60), 7))))) end as churn_risk
    from customers

),

{% if latest is none %}

final as (

    select
        customer_id,
        cast(rate * (1 - coalesce(churn_risk, 0)) as numeric) as value_90d,
        cast(rate as numeric) as revenue_rate_90d,
        cast(churn_risk as double precision) as churn_risk,
        'rules' as churn_source,
        'rules' as value_source,
        cast(null as text) as churn_reason,
        cast(null as text) as value_reason,
        cast(null as text) as next_purchase_reason,
        'rules' as churn_version,
        'rules' as value_version,
        'rules' as next_purchase_version
    from rules

)

{% else %}

night_scores as (

    select
        customer_id,
        model,
        score,
        method,
        nullif(concat_ws(', ', reason_1, reason_2, reason_3), '') as reason,
        method || ' ' || model_version || case when is_fallback then ' (fallback)' else '' end as score_version
    from {{ scores }}
    where as_of_date = cast('{{ latest }}' as date) and score is not null

),

final as (

    select
        rules.customer_id,
        cast(coalesce(value_scores.score, rules.rate * (1 - coalesce(rules.churn_risk, 0))) as numeric) as value_90d,
        cast(
            case when value_scores.score is null then rules.rate
                else value_scores.score / greatest(1 - coalesce(churn_scores.score, rules.churn_risk, 0), 0.05) end
            as numeric
        ) as revenue_rate_90d,
        cast(coalesce(churn_scores.score, rules.churn_risk) as double precision) as churn_risk,
        coalesce(churn_scores.method, 'rules') as churn_source,
        coalesce(value_scores.method, 'rules') as value_source,
        churn_scores.reason as churn_reason,
        value_scores.reason as value_reason,
        next_scores.reason as next_purchase_reason,
        coalesce(churn_scores.score_version, 'rules') as churn_version,
        coalesce(value_scores.score_version, 'rules') as value_version,
        coalesce(next_scores.score_version, 'rules') as next_purchase_version
    from rules
    left join night_scores as churn_scores
        on rules.customer_id = churn_scores.customer_id and churn_scores.model = 'churn_risk'
    left join night_scores as value_scores
        on rules.customer_id = value_scores.customer_id and value_scores.model = 'value_90d'
    left join night_scores as next_scores
        on rules.customer_id = next_scores.customer_id and next_scores.model = 'next_purchase'

)

{% endif %}

select * from final
