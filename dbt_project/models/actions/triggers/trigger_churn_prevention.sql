{#
    Churn risk >= min_churn_risk and the customer's 90-day value while active (revenue rate) >= min_value_90d,
    lifecycle active or at risk. Value: churn risk x that value (the value at risk).
#}
with

customers as (

    select * from {{ ref('dim_customers') }}

),

customer_values as (

    select * from {{ ref('trigger_customer_values') }}

),

final as (

    select
        customers.customer_id,
        'high_churn_risk' as trigger_code,
        'churn risk ' || to_char(customer_values.churn_risk, 'FM0.00') || ' (' || customer_values.churn_source
        || '): no order for ' || customers.days_since_last_order || ' days'
        || coalesce(', usually every ' || round(cast(customers.avg_days_between_purchases as numeric)) || ' days', '')
        || ', worth ' || to_char(customer_values.revenue_rate_90d, 'FM999999990.00') || ' per 90 days while active'
        as trigger_detail,
        customers.last_order_date as trigger_date,
        customer_values.churn_risk * customer_values.revenue_rate_90d as base_value,
        null::text[] as product_ids,
        null::text as model_reason,
        null::text as model_version
    from customers
    inner join customer_values
        on customers.customer_id = customer_values.customer_id
    where customers.lifecycle_status in ('active', 'at_risk')
        and customer_values.churn_risk >= {{ trigger_param('churn_prevention', 'min_churn_risk') }}
        and customer_values.revenue_rate_90d >= {{ trigger_param('churn_prevention', 'min_value_90d') }}

)

select * from final
