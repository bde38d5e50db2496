{# A Pareto customer's Nth completed order (N in milestones) within lookback_days. Value: 90-day value. #}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

customer_values as (

    select * from {{ ref('trigger_customer_values') }}

),

final as (

    select distinct on (orders.customer_id)
        orders.customer_id,
        'milestone_' || orders.purchase_number as trigger_code,
        orders.purchase_number || 'th completed order on ' || orders.ordered_date || '; a top customer (Pareto class), '
        || to_char(customers.total_revenue, 'FM999999990.00') || ' spent' as trigger_detail,
        orders.ordered_date as trigger_date,
        customer_values.value_90d as base_value,
        null::text[] as product_ids,
        null::text as model_reason,
        null::text as model_version
    from orders
    inner join customers
        on orders.customer_id = customers.customer_id
    inner join customer_values
        on orders.customer_id = customer_values.customer_id
    where orders.is_completed
        and orders.purchase_number = any({{ trigger_param('vip_recognition', 'milestones') }})
        and orders.ordered_date > {{ run_date() }} - {{ trigger_param('vip_recognition', 'lookback_days') }}
        and orders.ordered_date <= {{ run_date() }}
        and customers.pareto_class = 'pareto'
    order by orders.customer_id, orders.purchase_number desc

)

select * from final
