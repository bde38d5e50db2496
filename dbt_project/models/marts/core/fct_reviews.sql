{#
    The source systems export no resolution status for complaints, so the customer's own later behaviour is
    taken as the resolution: a complaint stays open until the customer completes another order or writes a
    positive review (rating 4 or 5) after it, up to run_date.
#}
with

reviews as (

    select * from {{ ref('stg_shop__reviews') }}
    where created_date <= {{ run_date() }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where ordered_date <= {{ run_date() }}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

later_orders as (

    select
        reviews.review_id,
        max(orders.ordered_at) as last_order_after_at
    from reviews
    inner join orders
        on reviews.customer_id = orders.customer_id
        and orders.ordered_at > reviews.created_at
        and orders.is_completed
    where reviews.is_complaint
    group by reviews.review_id

),

later_positive_reviews as (

    select
        complaints.review_id,
        max(positive_reviews.created_at) as last_positive_review_after_at
    from reviews as complaints
    inner join reviews as positive_reviews
        on complaints.customer_id = positive_reviews.customer_id
        and positive_reviews.created_at > complaints.created_at
        and positive_reviews.is_positive
        and positive_reviews.review_kind = 'review'
    where complaints.is_complaint
    group by complaints.review_id

),

final as (

    select
        reviews.review_id,
        reviews.customer_id,
        reviews.order_id,
        reviews.product_id,
        products.category,
        reviews.rating,
        reviews.review_kind,
        reviews.is_complaint,
        reviews.is_positive,
        reviews.is_negative,
        reviews.is_complaint
            and later_orders.review_id is null
            and later_positive_reviews.review_id is null as is_open_complaint,
        reviews.created_at,
        reviews.created_date,
        reviews.body
    from reviews
    left join products
        on reviews.product_id = products.product_id
    left join later_orders
        on reviews.review_id = later_orders.review_id
    left join later_positive_reviews
        on reviews.review_id = later_positive_reviews.review_id

)

select * from final
