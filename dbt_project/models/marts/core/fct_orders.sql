{#
    Incremental (it grows with the whole order history): a night rebuilds the orders of each customer with an
    order delivered or changed since the last build (macro order_side_touched_customers), whose purchase numbers
    int_purchases_sequenced recomputed that night. The pre-hook deletes those customers' orders first.
#}
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        pre_hook="{{ delete_order_side_touched_customers('ordered_date') }}",
    )
}}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where ordered_date <= {{ run_date() }}
    {% if is_incremental() %}
        and customer_id in (select customer_id from {{ order_side_touched_table() }})
    {% endif %}

),

order_lines as (

    select * from {{ ref('stg_shop__order_lines') }}
    {% if is_incremental() %}
        where order_id in (select order_id from orders)
    {% endif %}

),

purchases as (

    select * from {{ ref('int_purchases_sequenced') }}
    {% if is_incremental() %}
        where customer_id in (select customer_id from {{ order_side_touched_table() }})
    {% endif %}

),

lines_summed as (

    select
        order_id,
        count(*) as count_lines,
        sum(quantity) as count_units,
        sum(line_amount) as lines_amount,
        max(load_id) as load_id
    from order_lines
    group by order_id

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.ordered_date,
        orders.channel,
        orders.status,
        orders.is_completed,
        orders.is_cancelled,
        orders.is_returned,
        orders.currency,
        orders.total_amount,
        orders.shipping_amount,
        cast(case when orders.is_completed then orders.total_amount else 0 end as numeric(14, 2)) as revenue,
        cast(coalesce(lines_summed.count_lines, 0) as {{ dbt.type_bigint() }}) as count_lines,
        cast(coalesce(lines_summed.count_units, 0) as {{ dbt.type_bigint() }}) as count_units,
        cast(coalesce(lines_summed.lines_amount, 0) as numeric(14, 2)) as lines_amount,
        cast(purchases.purchase_number as {{ dbt.type_bigint() }}) as purchase_number,
        cast(purchases.days_since_previous_purchase as {{ dbt.type_int() }}) as days_since_previous_purchase,
        coalesce(purchases.purchase_number = 1, false) as is_first_purchase,
        greatest(orders.load_id, lines_summed.load_id) as source_load_id
    from orders
    left join lines_summed
        on orders.order_id = lines_summed.order_id
    left join purchases
        on orders.order_id = purchases.order_id

)

select * from final
