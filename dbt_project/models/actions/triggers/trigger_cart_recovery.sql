{#
    A session with an abandoned cart that started between max_age_hours and min_age_hours before the decision
    (02:00 store time on as_of) and no order or converted session of the customer since. Products: the items added
    in that session. Value: their prices.
#}
with

sessions as (

    select * from {{ ref('fct_web_sessions') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

events as (

    select * from {{ ref('int_web_events_sessionized') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

carts as (

    select customer_id, session_id, session_started_at, session_started_date
    from sessions
    where has_abandoned_cart and customer_id is not null
        and session_started_at
        <= {{ decision_at() }} - make_interval(hours => {{ trigger_param('cart_recovery', 'min_age_hours') }})
        and session_started_at
        > {{ decision_at() }} - make_interval(hours => {{ trigger_param('cart_recovery', 'max_age_hours') }})

),

open_carts as (

    select carts.* from carts
    where not exists (
        select 1 from orders
        where orders.customer_id = carts.customer_id and orders.ordered_at > carts.session_started_at
    )
    and not exists (
        select 1 from sessions
        where sessions.customer_id = carts.customer_id and sessions.is_converted
            and sessions.session_started_at > carts.session_started_at
    )

),

latest as (

    select distinct on (customer_id) * from open_carts order by customer_id, session_started_at desc

),

items as (

    select
        latest.customer_id,
        latest.session_started_at,
        latest.session_started_date,
        events.product_id,
        max(events.occurred_at) as added_at
    from latest
    inner join events
        on latest.session_id = events.session_id
    where events.event_type = 'add_to_cart' and events.product_id is not null
    group by latest.customer_id, latest.session_started_at, latest.session_started_date, events.product_id

),

final as (

    select
        items.customer_id,
        'abandoned_cart' as trigger_code,
        count(*) || ' item(s) left in the cart on ' || min(items.session_started_date)
        || ': ' || string_agg(products.product_name, ', ' order by items.added_at desc) as trigger_detail,
        -- the store-local day the session started (fct_web_sessions.session_started_date)
        min(items.session_started_date) as trigger_date,
        sum(products.price) as base_value,
        array_agg(items.product_id order by items.added_at desc) as product_ids,
        null::text as model_reason,
        null::text as model_version
    from items
    inner join products
        on items.product_id = products.product_id
    group by items.customer_id

)

select * from final
