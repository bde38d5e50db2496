{# A completed order placed days_after days before as_of without a review. Value: fixed (0). #}
with

orders as (

    select * from {{ ref('fct_orders') }}

),

reviews as (

    select * from {{ ref('fct_reviews') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

unreviewed as (

    select distinct on (customer_id) customer_id, order_id, ordered_date, count_units
    from orders
    where is_completed and ordered_date = {{ as_of_date() }} - {{ trigger_param('feedback_request', 'days_after') }}
        and not exists (select 1 from reviews where reviews.order_id = orders.order_id)
    order by customer_id, ordered_at desc

),

lines as (

    select order_lines.order_id, array_agg(order_lines.product_id order by order_lines.line_number) as product_ids
    from order_lines
    inner join unreviewed
        on order_lines.order_id = unreviewed.order_id
    group by order_lines.order_id

),

final as (

    select
        unreviewed.customer_id,
        'recent_order' as trigger_code,
        'order ' || unreviewed.order_id || ' of ' || unreviewed.ordered_date || ' (' || unreviewed.count_units
        || ' item(s)) not reviewed yet' as trigger_detail,
        unreviewed.ordered_date as trigger_date,
        0 as base_value,
        lines.product_ids,
        null::text as model_reason,
        null::text as model_version
    from unreviewed
    left join lines
        on unreviewed.order_id = lines.order_id

)

select * from final
