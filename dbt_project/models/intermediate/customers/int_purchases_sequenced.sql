with

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where is_completed
        and ordered_date <= {{ run_date() }}

),

sequenced as (

    select
        order_id,
        customer_id,
        ordered_at,
        ordered_date,
        channel,
        total_amount,
        row_number() over (partition by customer_id order by ordered_at, order_id) as purchase_number,
        lag(ordered_date) over (partition by customer_id order by ordered_at, order_id) as previous_ordered_date,
        lead(ordered_date) over (partition by customer_id order by ordered_at, order_id) as next_ordered_date
    from orders

),

final as (

    select
        order_id,
        customer_id,
        ordered_at,
        ordered_date,
        channel,
        total_amount,
        purchase_number,
        previous_ordered_date,
        next_ordered_date,
        {{ dbt.datediff('previous_ordered_date', 'ordered_date', 'day') }} as days_since_previous_purchase
    from sequenced

)

select * from final
