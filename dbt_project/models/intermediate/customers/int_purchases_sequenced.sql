{#
    Incremental, as the rest of the order side (fct_orders, fct_order_lines, int_category_purchases_sequenced): a
    night rebuilds every row of each customer with an order delivered or changed since the table was last built
    (macro order_side_touched_customers: an old order returned or cancelled later moves every later purchase
    number of its customer), and nobody else's. The pre-hook deletes those customers' rows first, so a customer
    whose only purchase was returned keeps none.
#}
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        pre_hook="{{ delete_order_side_touched_customers('ordered_date', with_lines=false) }}",
        indexes=[
            {'columns': ['order_id'], 'unique': true},
            {'columns': ['customer_id']},
        ],
    )
}}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where is_completed
        and ordered_date <= {{ run_date() }}
    {% if is_incremental() %}
        and customer_id in (select customer_id from {{ order_side_touched_table() }})
    {% endif %}

),

sequenced as (

    select
        order_id,
        customer_id,
        ordered_at,
        ordered_date,
        channel,
        total_amount,
        load_id,
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
        {{ dbt.datediff('previous_ordered_date', 'ordered_date', 'day') }} as days_since_previous_purchase,
        load_id as source_load_id
    from sequenced

)

select * from final
