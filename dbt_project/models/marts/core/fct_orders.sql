with

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where ordered_date <= {{ run_date() }}

),

order_lines as (

    select * from {{ ref('stg_shop__order_lines') }}

),

purchases as (

    select * from {{ ref('int_purchases_sequenced') }}

),

lines_summed as (

    select
        order_id,
        count(*) as count_lines,
        sum(quantity) as count_units,
        sum(line_amount) as lines_amount
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
        coalesce(purchases.purchase_number = 1, false) as is_first_purchase
    from orders
    left join lines_summed
        on orders.order_id = lines_summed.order_id
    left join purchases
        on orders.order_id = purchases.order_id

)

select * from final
