{#
    The latest purchase of a consumable category is due again (the ML category score's expected days to the next
    purchase, else the purchase rhythm of int_category_purchases_sequenced, which blends the product's use cycle
    with the customer's own intervals) between as_of - overdue_days and as_of + lead_days, and nothing of the
    category was bought since. Product: the last consumable of the category the customer bought. Value: its price
    x quantity. The ML scores are left out while ml.customer_category_scores does not exist.
#}
{% set category_scores = source('ml', 'customer_category_scores') %}

with

category_purchases as (

    select * from {{ ref('int_category_purchases_sequenced') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

latest_category as (

    select
        customer_id, category, purchased_date, expected_next_purchase_date as due_date,
        'purchase rhythm' as due_source, null::text as model_reason, null::text as model_version
    from category_purchases
    where has_consumable and next_purchased_date is null and expected_next_purchase_date is not null
    {% if relation_exists(category_scores) %}
    union all
    select
        scores.customer_id, scores.category, null::date,
        {{ as_of_date() }} + cast(round(scores.expected_days_to_next_purchase) as integer),
        'next_purchase_category model', scores.reason, scores.model_version
    from {{ category_scores }} as scores
    where scores.as_of_date = (
            select max(as_of_date) from {{ category_scores }} where as_of_date <= {{ as_of_date() }}
        )
        and scores.expected_days_to_next_purchase is not null
        and exists (
            select 1 from category_purchases
            where category_purchases.customer_id = scores.customer_id
                and category_purchases.category = scores.category
                and category_purchases.has_consumable
                and category_purchases.next_purchased_date is null
        )
    {% endif %}

),

due as (

    select distinct on (customer_id, category) * from latest_category
    order by customer_id, category, (due_source = 'purchase rhythm')

),

due_soon as (

    select distinct on (customer_id) * from due
    where due_date between {{ as_of_date() }} - {{ trigger_param('replenishment_reminder', 'overdue_days') }}
        and {{ as_of_date() }} + {{ trigger_param('replenishment_reminder', 'lead_days') }}
    order by customer_id, due_date, category

),

last_products as (

    select distinct on (order_lines.customer_id)
        order_lines.customer_id, order_lines.product_id, order_lines.quantity, order_lines.ordered_date,
        products.product_name, products.price, products.use_cycle_days
    from order_lines
    inner join due_soon
        on order_lines.customer_id = due_soon.customer_id and order_lines.category = due_soon.category
    inner join products
        on order_lines.product_id = products.product_id
    where order_lines.is_completed and products.is_consumable
    order by order_lines.customer_id, order_lines.ordered_at desc, order_lines.line_number

),

final as (

    select
        due_soon.customer_id,
        'due_' || due_soon.category as trigger_code,
        last_products.product_name || ' (' || due_soon.category || ') x' || last_products.quantity || ' bought '
        || last_products.ordered_date
        || coalesce(', lasts about ' || (last_products.quantity * last_products.use_cycle_days) || ' days', '')
        || ': due again ' || due_soon.due_date || ' (' || due_soon.due_source || ')' as trigger_detail,
        due_soon.due_date as trigger_date,
        last_products.price * last_products.quantity as base_value,
        array[last_products.product_id] as product_ids,
        due_soon.model_reason,
        due_soon.model_version
    from due_soon
    inner join last_products
        on due_soon.customer_id = last_products.customer_id

)

select * from final
