with

products as (

    select * from {{ ref('stg_shop__products') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}
    where is_completed

),

reviews as (

    select * from {{ ref('fct_reviews') }}

),

sales as (

    select
        product_id,
        count(distinct order_id) as count_orders,
        sum(quantity) as count_units_sold,
        sum(line_amount) as revenue
    from order_lines
    group by product_id

),

ratings as (

    select
        product_id,
        count(*) as count_reviews,
        avg(cast(rating as {{ dbt.type_float() }})) as average_rating
    from reviews
    where review_kind = 'review'
    group by product_id

),

final as (

    select
        products.product_id,
        products.product_name,
        products.category,
        products.price,
        products.unit_cost,
        products.unit_cost is not null as has_known_cost,
        products.price - products.unit_cost as unit_margin,
        products.is_consumable,
        products.use_cycle_days,
        products.service_interval_days,
        products.updated_at,
        cast(coalesce(sales.count_orders, 0) as {{ dbt.type_bigint() }}) as count_orders,
        cast(coalesce(sales.count_units_sold, 0) as {{ dbt.type_bigint() }}) as count_units_sold,
        cast(coalesce(sales.revenue, 0) as numeric(14, 2)) as revenue,
        cast(coalesce(ratings.count_reviews, 0) as {{ dbt.type_bigint() }}) as count_reviews,
        ratings.average_rating
    from products
    left join sales
        on products.product_id = sales.product_id
    left join ratings
        on products.product_id = ratings.product_id

)

select * from final
