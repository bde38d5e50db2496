{#
    Lifecycle lapsed, last order at most max_days_since_last_order ago, lifetime revenue >= min_past_revenue.
    Value: lifetime revenue.
#}
with

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        customer_id,
        'lapsed' as trigger_code,
        'lapsed: last order ' || last_order_date || ' (' || days_since_last_order || ' days ago), '
        || to_char(total_revenue, 'FM999999990.00') || ' spent in ' || count_orders || ' order(s)' as trigger_detail,
        last_order_date as trigger_date,
        total_revenue as base_value,
        null::text[] as product_ids,
        null::text as model_reason,
        null::text as model_version
    from customers
    where lifecycle_status = 'lapsed' and total_revenue >= {{ trigger_param('win_back', 'min_past_revenue') }}
        and days_since_last_order <= {{ trigger_param('win_back', 'max_days_since_last_order') }}

)

select * from final
