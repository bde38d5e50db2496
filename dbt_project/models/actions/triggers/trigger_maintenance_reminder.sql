{#
    A durable product bought within max_age_days whose next service date (purchase date + k x
    service_interval_days) falls within lead_days of as_of. Value: the product price.
#}
with

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

durable_purchases as (

    select
        order_lines.customer_id, order_lines.product_id, order_lines.ordered_date, products.product_name,
        products.price, products.service_interval_days,
        order_lines.ordered_date + products.service_interval_days
        * cast(ceil(({{ as_of_date() }} - order_lines.ordered_date) / products.service_interval_days::numeric)
            as integer) as due_date
    from order_lines
    inner join products
        on order_lines.product_id = products.product_id
    where order_lines.is_completed and not products.is_consumable and products.service_interval_days is not null
        and order_lines.ordered_date < {{ as_of_date() }}
        and order_lines.ordered_date
        > {{ as_of_date() }} - {{ trigger_param('maintenance_reminder', 'max_age_days') }}

),

due as (

    select distinct on (customer_id) * from durable_purchases
    where due_date <= {{ as_of_date() }} + {{ trigger_param('maintenance_reminder', 'lead_days') }}
    order by customer_id, due_date, product_id

),

final as (

    select
        customer_id,
        'service_due' as trigger_code,
        product_name || ' bought ' || ordered_date || ': service due ' || due_date || ' (every '
        || service_interval_days || ' days)' as trigger_detail,
        due_date as trigger_date,
        price as base_value,
        array[product_id] as product_ids,
        null::text as model_reason,
        null::text as model_version
    from due

)

select * from final
