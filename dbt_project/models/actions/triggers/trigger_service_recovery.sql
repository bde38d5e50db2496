{#
    An open complaint, a review rated <= max_rating, or a cancelled/returned order within lookback_days, with no
    later sign of recovery (no completed order and no positive review after it); the most serious event per
    customer (complaint, review, order). Value: the customer's 90-day value.
#}
{% set lookback_days = trigger_param('service_recovery', 'lookback_days') %}

with

reviews as (

    select * from {{ ref('fct_reviews') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

customer_values as (

    select * from {{ ref('trigger_customer_values') }}

),

window_reviews as (

    select * from reviews
    where created_date > {{ run_date() }} - {{ lookback_days }} and created_date <= {{ run_date() }}

),

events as (

    select
        customer_id, 'complaint' as trigger_code, 1 as seriousness, created_at as event_at,
        created_date as event_date,
        'open complaint of ' || created_date || coalesce(' about order ' || order_id, '') as detail,
        array_remove(array[product_id], null) as product_ids
    from window_reviews
    where is_complaint and is_open_complaint
    union all
    select
        window_reviews.customer_id, 'negative_review', 2, window_reviews.created_at, window_reviews.created_date,
        'review rated ' || window_reviews.rating || '/5 on ' || window_reviews.created_date
        || coalesce(' for ' || products.product_name, ''),
        array_remove(array[window_reviews.product_id], null)
    from window_reviews
    left join products
        on window_reviews.product_id = products.product_id
    where window_reviews.review_kind = 'review'
        and window_reviews.rating <= {{ trigger_param('service_recovery', 'max_rating') }}
    union all
    select
        customer_id, status || '_order', 3, ordered_at, ordered_date,
        'order ' || order_id || ' of ' || ordered_date || ' was ' || status, array[]::text[]
    from orders
    where (is_cancelled or is_returned)
        and ordered_date > {{ run_date() }} - {{ lookback_days }} and ordered_date <= {{ run_date() }}

),

unrecovered as (

    select events.* from events
    where not exists (
        select 1 from orders
        where orders.customer_id = events.customer_id and orders.is_completed and orders.ordered_at > events.event_at
    )
    and not exists (
        select 1 from reviews
        where reviews.customer_id = events.customer_id and reviews.review_kind = 'review' and reviews.is_positive
            and reviews.created_at > events.event_at
    )

),

most_serious as (

    select distinct on (customer_id) * from unrecovered
    order by customer_id, seriousness, event_at desc

),

final as (

    select
        most_serious.customer_id,
        most_serious.trigger_code,
        most_serious.detail as trigger_detail,
        most_serious.event_date as trigger_date,
        customer_values.value_90d as base_value,
        most_serious.product_ids,
        null::text as model_reason,
        null::text as model_version
    from most_serious
    inner join customer_values
        on most_serious.customer_id = customer_values.customer_id

)

select * from final
