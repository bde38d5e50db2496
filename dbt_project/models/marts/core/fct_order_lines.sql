{#
    Incremental (it grows with the whole order history): a night rebuilds the lines of each customer with an order
    or line delivered or changed since the last build, or with a line of a product whose category or cost changed
    (macro order_side_touched_customers). The pre-hook deletes those customers' lines first.
#}
{{
    config(
        materialized='incremental',
        unique_key='order_line_id',
        pre_hook="{{ delete_order_side_touched_customers('ordered_date', with_products=true) }}",
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

products as (

    select * from {{ ref('stg_shop__products') }}

),

final as (

    select
        order_lines.order_line_id,
        order_lines.order_id,
        orders.customer_id,
        order_lines.product_id,
        products.category,
        order_lines.line_number,
        order_lines.quantity,
        order_lines.unit_price,
        order_lines.discount_amount,
        order_lines.line_amount,
        products.unit_cost,
        cast(order_lines.quantity * products.unit_cost as numeric(14, 2)) as cost_amount,
        cast(order_lines.line_amount - order_lines.quantity * products.unit_cost as numeric(14, 2)) as gross_margin,
        orders.ordered_at,
        orders.ordered_date,
        orders.channel,
        orders.status,
        orders.is_completed,
        greatest(order_lines.load_id, orders.load_id) as source_load_id
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    left join products
        on order_lines.product_id = products.product_id

)

select * from final
