with

order_lines as (

    select * from {{ ref('stg_shop__order_lines') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where ordered_date <= {{ run_date() }}

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
        orders.is_completed
    from order_lines
    inner join orders
        on order_lines.order_id = orders.order_id
    left join products
        on order_lines.product_id = products.product_id

)

select * from final
