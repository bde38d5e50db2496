{#
    Point in time: every feature of (customer_id, as_of_date) is computed from data dated strictly before
    as_of_date (orders, order lines, reviews, web events by their store-local date; identifications of web visitors
    made before as_of_date). As-of dates are int_customer_states_as_of's: the history's (training) and run_date + 1
    (nightly scoring: the run for business day R has complete data through R).

    Incremental (folder default): a night computes the as-of dates not yet in the table plus those within
    late_data_days of run_date + 1, so data delivered up to that many days late is included, and never
    recomputes older ones. The pre-hook drops the previous night's scoring date unless it is a history date, and
    any as-of date after run_date + 1 (left by a later run when an earlier day is re-run).
#}
{{
    config(
        unique_key=['customer_id', 'as_of_date'],
        pre_hook="{{ delete_stale_as_of_dates() }}",
        indexes=[
            {'columns': ['customer_id', 'as_of_date'], 'unique': true},
            {'columns': ['as_of_date']},
        ],
    )
}}

{% set float = dbt.type_float() %}
{#
    The trailing windows of the order and web features: the last 30 days before the as-of date, and the 90 days
    before those (name: (days, days before the as-of date the window ends)). The trends compare their daily rates.
#}
{% set recent, previous = '30d', 'prev_90d' %}
{% set windows = {recent: (30, 0), previous: (90, 30)} %}
{% set order_measures = {'count_orders': '1', 'revenue': 'orders.total_amount'} %}
{% set session_counts = ['count_product_views', 'count_searches', 'count_cart_adds'] %}

with

states as (

    select * from {{ ref('int_customer_states_as_of') }}

),

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

orders as (

    select * from {{ ref('fct_orders') }}

),

order_lines as (

    select * from {{ ref('fct_order_lines') }}
    where is_completed

),

reviews as (

    select * from {{ ref('fct_reviews') }}

),

session_days as (

    select * from {{ ref('int_web_session_days_aggregated') }}

),

identities as (

    select * from {{ ref('int_web_identities_stitched') }}

),

category_purchases as (

    select * from {{ ref('int_category_purchases_sequenced') }}

),

as_of_dates as (

    select distinct as_of_date from states
    {% if is_incremental() %}
    where as_of_date >= {{ dbt.dateadd('day', 1 - var('late_data_days'), run_date()) }}
        or as_of_date not in (select distinct as_of_date from {{ this }})
    {% endif %}

),

population as (

    select states.*
    from states
    inner join as_of_dates
        on states.as_of_date = as_of_dates.as_of_date

),

order_windows as (

    select
        as_of_dates.as_of_date,
        orders.customer_id,
        {% for measure, amount in order_measures.items() %}
            {% for window, bounds in windows.items() %}
                {{ sum_in_window(amount, 'orders.ordered_date', 'as_of_dates.as_of_date', bounds[0], bounds[1], 'orders.is_completed') }}
                    as {{ measure }}_{{ window }},
            {% endfor %}
        {% endfor %}
        count(*) as count_orders_placed,
        sum(case when orders.is_returned then 1 else 0 end) as count_returned_orders,
        sum(case when orders.is_cancelled then 1 else 0 end) as count_cancelled_orders,
        max(case when orders.is_completed then orders.ordered_at end) as last_completed_order_at
    from orders
    inner join as_of_dates
        on orders.ordered_date < as_of_dates.as_of_date
    group by as_of_dates.as_of_date, orders.customer_id

),

category_revenue as (

    select
        as_of_dates.as_of_date,
        order_lines.customer_id,
        order_lines.category,
        sum(order_lines.line_amount) as revenue
    from order_lines
    inner join as_of_dates
        on order_lines.ordered_date < as_of_dates.as_of_date
    group by as_of_dates.as_of_date, order_lines.customer_id, order_lines.category

),

category_ranked as (

    select
        *,
        sum(revenue) over (partition by as_of_date, customer_id) as all_revenue,
        row_number() over (partition by as_of_date, customer_id order by revenue desc, category) as revenue_rank
    from category_revenue

),

consumable_categories as (

    select category, max(case when is_consumable then 1 else 0 end) = 1 as is_consumable_category
    from {{ ref('dim_products') }}
    group by category

),

category_mix as (

    select
        category_ranked.as_of_date,
        category_ranked.customer_id,
        count(*) as count_categories,
        max(case when category_ranked.revenue_rank = 1 then category_ranked.category end) as top_category,
        max(
            case
                when category_ranked.revenue_rank = 1 and category_ranked.all_revenue > 0
                    then cast(category_ranked.revenue as {{ float }}) / cast(category_ranked.all_revenue as {{ float }})
            end
        ) as top_category_revenue_share,
        case
            when max(category_ranked.all_revenue) > 0
                then cast(sum(case when consumable_categories.is_consumable_category then category_ranked.revenue else 0 end) as {{ float }})
                    / cast(max(category_ranked.all_revenue) as {{ float }})
        end as consumable_revenue_share
    from category_ranked
    left join consumable_categories
        on category_ranked.category = consumable_categories.category
    group by category_ranked.as_of_date, category_ranked.customer_id

),

review_history as (

    select
        as_of_dates.as_of_date,
        reviews.customer_id,
        sum(case when reviews.review_kind = 'review' then 1 else 0 end) as count_reviews,
        avg(case when reviews.review_kind = 'review' then cast(reviews.rating as {{ float }}) end) as average_review_rating,
        sum(case when reviews.review_kind = 'review' and reviews.is_negative then 1 else 0 end) as count_negative_reviews,
        sum(case when reviews.is_complaint then 1 else 0 end) as count_complaints,
        {{ sum_in_window('1', 'reviews.created_date', 'as_of_dates.as_of_date', 90, condition='reviews.is_complaint') }}
            as count_complaints_90d,
        max(case when reviews.is_complaint then reviews.created_at end) as last_complained_at,
        max(case when reviews.review_kind = 'review' and reviews.is_positive then reviews.created_at end)
            as last_positive_review_at,
        max(reviews.created_at) as last_reviewed_at
    from reviews
    inner join as_of_dates
        on reviews.created_date < as_of_dates.as_of_date
    group by as_of_dates.as_of_date, reviews.customer_id

),

ratings_known as (

    select
        as_of_dates.as_of_date,
        reviews.customer_id,
        reviews.review_id,
        reviews.rating,
        reviews.created_at
    from reviews
    inner join as_of_dates
        on reviews.created_date < as_of_dates.as_of_date

),

latest_ratings as (

    {{ deduplicate('ratings_known', 'as_of_date, customer_id', 'created_at desc, review_id desc') }}

),

session_days_known as (

    {#
        Session pieces before the as-of date, each with the customer known by then: the one logged in during the
        piece, else the visitor's identity as of the as-of date (identified before it; visits before the first
        identification go to the first customer identified before the as-of date).
    #}
    select
        as_of_dates.as_of_date,
        session_days.session_id,
        session_days.occurred_date,
        session_days.count_product_views,
        session_days.count_searches,
        session_days.count_cart_adds,
        session_days.count_purchases,
        coalesce(session_days.logged_in_customer_id, identities.customer_id) as customer_id
    from session_days
    inner join as_of_dates
        on session_days.occurred_date < as_of_dates.as_of_date
        and session_days.occurred_date >= {{ dbt.dateadd('day', -120, 'as_of_dates.as_of_date') }}
    left join identities
        on session_days.anonymous_id = identities.anonymous_id
        and identities.identified_from < {{ store_day_start('as_of_dates.as_of_date') }}
        and (
            (
                session_days.first_occurred_at >= identities.identified_from
                and (identities.identified_until is null or session_days.first_occurred_at < identities.identified_until)
            )
            or (identities.identity_number = 1 and session_days.first_occurred_at < identities.identified_from)
        )

),

sessions_known as (

    select
        as_of_date,
        session_id,
        max(customer_id) as customer_id,
        max(occurred_date) as last_occurred_date,
        sum(count_product_views) as count_product_views,
        sum(count_searches) as count_searches,
        sum(count_cart_adds) as count_cart_adds,
        sum(count_cart_adds) > 0 and sum(count_purchases) = 0 as has_abandoned_cart
    from session_days_known
    group by as_of_date, session_id

),

web_engagement as (

    select
        as_of_date,
        customer_id,
        {#
            The previous window is open at the start: session_days_known keeps only the last 120 days, the same
            bound as 30 + 90 days.
        #}
        {{ sum_in_window('1', 'last_occurred_date', 'as_of_date', 30) }} as count_sessions_30d,
        {{ sum_in_window('1', 'last_occurred_date', 'as_of_date', offset_days=30) }} as count_sessions_prev_90d,
        {% for measure in session_counts %}
            {{ sum_in_window(measure, 'last_occurred_date', 'as_of_date', 30) }} as {{ measure }}_30d,
        {% endfor %}
        {{ sum_in_window('1', 'last_occurred_date', 'as_of_date', 30, condition='has_abandoned_cart') }}
            as count_abandoned_carts_30d,
        {{ sum_in_window('1', 'last_occurred_date', 'as_of_date', condition='has_abandoned_cart') }}
            as count_abandoned_carts_120d,
        {{ sum_in_window('1', 'last_occurred_date', 'as_of_date', condition='count_cart_adds > 0') }}
            as count_cart_sessions_120d,
        max(last_occurred_date) as last_session_date
    from sessions_known
    where customer_id is not null
    group by as_of_date, customer_id

),

category_purchases_known as (

    select
        as_of_dates.as_of_date,
        category_purchases.customer_id,
        category_purchases.category,
        category_purchases.purchased_date,
        category_purchases.expected_next_purchase_date
    from category_purchases
    inner join as_of_dates
        on category_purchases.purchased_date < as_of_dates.as_of_date
    where category_purchases.has_consumable

),

replenishments_latest as (

    {{ deduplicate('category_purchases_known', 'as_of_date, customer_id, category', 'purchased_date desc') }}

),

replenishments as (

    select
        as_of_date,
        customer_id,
        min({{ dbt.datediff('as_of_date', 'expected_next_purchase_date', 'day') }}) as days_until_expected_replenishment,
        sum(case when expected_next_purchase_date < as_of_date then 1 else 0 end) as count_overdue_replenishments
    from replenishments_latest
    where expected_next_purchase_date is not null
    group by as_of_date, customer_id

),

final as (

    select
        population.customer_id,
        population.as_of_date,
        cast({{ dbt.datediff(store_local_date('customers.signup_at'), 'population.as_of_date', 'day') }} as {{ dbt.type_int() }})
            as tenure_days,
        cast(population.days_since_last_order as {{ dbt.type_int() }}) as days_since_last_order,
        cast({{ dbt.datediff('population.first_order_date', 'population.as_of_date', 'day') }} as {{ dbt.type_int() }})
            as days_since_first_order,
        cast(population.count_orders as {{ dbt.type_bigint() }}) as count_orders,
        {% for window in windows %}
            {{ count_or_zero('order_windows.count_orders_' ~ window) }} as count_orders_{{ window }},
        {% endfor %}
        cast(population.count_orders_365d as {{ dbt.type_bigint() }}) as count_orders_365d,
        cast(population.total_revenue as numeric(14, 2)) as total_revenue,
        {% for window in windows %}
            cast(coalesce(order_windows.revenue_{{ window }}, 0) as numeric(14, 2)) as revenue_{{ window }},
        {% endfor %}
        cast(
            case when population.count_orders > 0 then population.total_revenue / population.count_orders end
            as {{ float }}
        ) as average_order_value,
        {% for trend, measure in {'order': 'count_orders', 'revenue': 'revenue'}.items() %}
            {{ rate_trend(
                'order_windows.' ~ measure ~ '_' ~ recent, windows[recent][0],
                'order_windows.' ~ measure ~ '_' ~ previous, windows[previous][0]
            ) }} as {{ trend }}_rate_trend,
        {% endfor %}
        cast(coalesce(order_windows.count_returned_orders, 0) as {{ dbt.type_bigint() }}) as count_returned_orders,
        cast(coalesce(order_windows.count_cancelled_orders, 0) as {{ dbt.type_bigint() }}) as count_cancelled_orders,
        cast(
            case
                when order_windows.count_orders_placed > 0
                    then cast(order_windows.count_returned_orders as {{ float }}) / order_windows.count_orders_placed
            end as {{ float }}
        ) as return_rate,
        population.rfm_recency_score,
        population.rfm_frequency_score,
        population.rfm_monetary_score,
        population.rfm_segment,
        population.pareto_class,
        population.loyalty_status,
        population.lifecycle_status,
        cast(coalesce(category_mix.count_categories, 0) as {{ dbt.type_bigint() }}) as count_categories,
        category_mix.top_category,
        cast(category_mix.top_category_revenue_share as {{ float }}) as top_category_revenue_share,
        cast(category_mix.consumable_revenue_share as {{ float }}) as consumable_revenue_share,
        cast(coalesce(review_history.count_reviews, 0) as {{ dbt.type_bigint() }}) as count_reviews,
        cast(review_history.average_review_rating as {{ float }}) as average_review_rating,
        cast(latest_ratings.rating as {{ dbt.type_int() }}) as latest_rating,
        cast(coalesce(review_history.count_negative_reviews, 0) as {{ dbt.type_bigint() }}) as count_negative_reviews,
        cast(coalesce(review_history.count_complaints, 0) as {{ dbt.type_bigint() }}) as count_complaints,
        cast(coalesce(review_history.count_complaints_90d, 0) as {{ dbt.type_bigint() }}) as count_complaints_90d,
        cast(
            {{ dbt.datediff(store_local_date('review_history.last_complained_at'), 'population.as_of_date', 'day') }}
            as {{ dbt.type_int() }}
        ) as days_since_last_complaint,
        coalesce(
            review_history.last_complained_at is not null
            and (order_windows.last_completed_order_at is null or order_windows.last_completed_order_at < review_history.last_complained_at)
            and (review_history.last_positive_review_at is null or review_history.last_positive_review_at < review_history.last_complained_at),
            false
        ) as has_open_complaint,
        {% for window in windows %}
            {{ count_or_zero('web_engagement.count_sessions_' ~ window) }} as count_sessions_{{ window }},
        {% endfor %}
        {{ rate_trend(
            'web_engagement.count_sessions_' ~ recent, windows[recent][0],
            'web_engagement.count_sessions_' ~ previous, windows[previous][0]
        ) }} as session_rate_trend,
        {% for measure in session_counts + ['count_abandoned_carts'] %}
            {{ count_or_zero('web_engagement.' ~ measure ~ '_' ~ recent) }} as {{ measure }}_{{ recent }},
        {% endfor %}
        cast(
            case
                when web_engagement.count_cart_sessions_120d > 0
                    then cast(web_engagement.count_abandoned_carts_120d as {{ float }}) / web_engagement.count_cart_sessions_120d
            end as {{ float }}
        ) as cart_abandonment_rate_120d,
        cast({{ dbt.datediff('web_engagement.last_session_date', 'population.as_of_date', 'day') }} as {{ dbt.type_int() }})
            as days_since_last_session,
        cast(replenishments.days_until_expected_replenishment as {{ dbt.type_int() }}) as days_until_expected_replenishment,
        cast(coalesce(replenishments.count_overdue_replenishments, 0) as {{ dbt.type_bigint() }}) as count_overdue_replenishments
    from population
    left join customers
        on population.customer_id = customers.customer_id
    left join order_windows
        on population.customer_id = order_windows.customer_id
        and population.as_of_date = order_windows.as_of_date
    left join category_mix
        on population.customer_id = category_mix.customer_id
        and population.as_of_date = category_mix.as_of_date
    left join review_history
        on population.customer_id = review_history.customer_id
        and population.as_of_date = review_history.as_of_date
    left join latest_ratings
        on population.customer_id = latest_ratings.customer_id
        and population.as_of_date = latest_ratings.as_of_date
    left join web_engagement
        on population.customer_id = web_engagement.customer_id
        and population.as_of_date = web_engagement.as_of_date
    left join replenishments
        on population.customer_id = replenishments.customer_id
        and population.as_of_date = replenishments.as_of_date

)

select * from final
