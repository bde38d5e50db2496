{#
    One row per customer and store-local day on which the customer was active: placed an order (any status), wrote a
    review or complaint, or visited the web shop or app while logged in (an event carrying their customer_id).
    This is the one definition of an "active customer" that every KPI uses.

    Incremental (delete+insert on customer_day_id): a night recomputes every customer's days from late_data_days
    before run_date (earlier after missed nights or late events, see customer_activity_window_start), and all the
    days of the customers with an order or a review delivered since then but dated before (a return, a correction);
    the pre-hook first removes those days. Web activity older than the web look-back reaches this table with the
    next full refresh, as it reaches int_customer_web_days_aggregated.
#}
{{
    config(
        materialized='incremental',
        unique_key='customer_day_id',
        pre_hook="{{ delete_customer_activity_window(ref('stg_shop__orders'), ref('stg_shop__reviews'), ref('int_web_events_sessionized')) }}",
        indexes=[
            {'columns': ['customer_day_id'], 'unique': true},
            {'columns': ['activity_date']},
        ],
    )
}}

{% set window_start = customer_activity_window_start(ref('int_web_events_sessionized')) %}
{#- Read only on incremental runs; declared so that dbt orders it before this model. #}
-- depends_on: {{ ref('int_web_events_sessionized') }}
with

{% if is_incremental() %}

customers_late as (

    {{ customers_delivered_late(ref('stg_shop__orders'), ref('stg_shop__reviews'), window_start) }}

),

{% endif %}

{#- The days recomputed: all in a full build. #}
{%- set recomputed -%}
    {% if is_incremental() -%}
        and ({date_column} >= {{ window_start }} or customer_id in (select customers_late.customer_id from customers_late))
    {%- endif %}
{%- endset %}

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where ordered_date <= {{ run_date() }}
    {{ recomputed | replace('{date_column}', 'ordered_date') }}

),

reviews as (

    select * from {{ ref('stg_shop__reviews') }}
    where created_date <= {{ run_date() }}
    {{ recomputed | replace('{date_column}', 'created_date') }}

),

web_days as (

    select * from {{ ref('int_customer_web_days_aggregated') }}
    where occurred_date <= {{ run_date() }}
    {{ recomputed | replace('{date_column}', 'occurred_date') }}

),

order_days as (

    select
        customer_id,
        ordered_date as activity_date,
        count(*) as count_orders_placed,
        sum(case when is_completed then 1 else 0 end) as count_completed_orders,
        sum(case when is_completed then total_amount else 0 end) as revenue
    from orders
    group by customer_id, ordered_date

),

reviews_ranked as (

    select
        *,
        row_number() over (
            partition by customer_id, created_date
            order by created_at desc, review_id desc
        ) as recency_rank
    from reviews

),

review_days as (

    select
        customer_id,
        created_date as activity_date,
        sum(case when review_kind = 'review' then 1 else 0 end) as count_reviews,
        sum(case when review_kind = 'review' and is_positive then 1 else 0 end) as count_positive_reviews,
        sum(case when is_complaint then 1 else 0 end) as count_complaints,
        max(case when recency_rank = 1 then rating end) as latest_rating,
        max(created_at) as latest_rated_at,
        max(case when recency_rank = 1 then review_id end) as latest_review_id
    from reviews_ranked
    group by customer_id, created_date

),

visit_days as (

    select
        customer_id,
        occurred_date as activity_date,
        count_logged_in_events
    from web_days

),

customer_days as (

    select customer_id, activity_date from order_days
    union
    select customer_id, activity_date from review_days
    union
    select customer_id, activity_date from visit_days

),

final as (

    select
        {{ dbt.concat(["customer_days.customer_id", "'|'", dbt.cast("customer_days.activity_date", dbt.type_string())]) }}
            as customer_day_id,
        customer_days.customer_id,
        customer_days.activity_date,
        coalesce(order_days.count_orders_placed, 0) as count_orders_placed,
        coalesce(order_days.count_completed_orders, 0) as count_completed_orders,
        coalesce(order_days.revenue, 0) as revenue,
        coalesce(review_days.count_reviews, 0) as count_reviews,
        coalesce(review_days.count_positive_reviews, 0) as count_positive_reviews,
        coalesce(review_days.count_complaints, 0) as count_complaints,
        review_days.latest_rating,
        review_days.latest_rated_at,
        review_days.latest_review_id,
        coalesce(visit_days.count_logged_in_events, 0) as count_logged_in_events,
        order_days.customer_id is not null as has_ordered,
        review_days.customer_id is not null as has_reviewed,
        visit_days.customer_id is not null as has_visited_logged_in
    from customer_days
    left join order_days
        on customer_days.customer_id = order_days.customer_id
        and customer_days.activity_date = order_days.activity_date
    left join review_days
        on customer_days.customer_id = review_days.customer_id
        and customer_days.activity_date = review_days.activity_date
    left join visit_days
        on customer_days.customer_id = visit_days.customer_id
        and customer_days.activity_date = visit_days.activity_date

)

select * from final
