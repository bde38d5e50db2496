{#
    One row per customer, category and store-local day with a completed purchase in the category. After each purchase
    the expected next purchase in the category blends two estimates, the product's use cycle counting as one
    observation and each of the customer's own intervals in the category as one more:
        expected_interval_days = (coverage_days + count_intervals * avg_interval_days) / (1 + count_intervals)
    where coverage_days = sum(quantity * use_cycle_days) over the purchase's consumable lines (how long what was
    bought lasts). Without a use cycle (durables) only the customer's own rhythm counts; with neither, no date.

    Incremental, as the rest of the order side: a night rebuilds every row of each customer with an order delivered
    or changed since the last build, or with a line of a product whose category, cost or use cycle changed (macro
    order_side_touched_customers; the sequences run over the customer's whole history in each category). The
    pre-hook deletes those customers' rows first, so days that no longer hold a completed purchase go.
#}
{{
    config(
        materialized='incremental',
        unique_key='category_purchase_id',
        pre_hook="{{ delete_order_side_touched_customers('purchased_date', with_products=true) }}",
        indexes=[
            {'columns': ['category_purchase_id'], 'unique': true},
            {'columns': ['customer_id']},
        ],
    )
}}

with

lines as (

    select * from {{ ref('stg_shop__order_lines') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where is_completed
        and ordered_date <= {{ run_date() }}
    {% if is_incremental() %}
        and customer_id in (select customer_id from {{ order_side_touched_table() }})
    {% endif %}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

category_days as (

    select
        orders.customer_id,
        products.category,
        orders.ordered_date as purchased_date,
        count(distinct orders.order_id) as count_orders,
        sum(lines.quantity) as quantity,
        sum(lines.line_amount) as revenue,
        sum(
            case when products.is_consumable then lines.quantity * products.use_cycle_days end
        ) as coverage_days,
        max(case when products.is_consumable then 1 else 0 end) = 1 as has_consumable,
        max(greatest(orders.load_id, lines.load_id)) as source_load_id
    from lines
    inner join orders
        on lines.order_id = orders.order_id
    inner join products
        on lines.product_id = products.product_id
    group by orders.customer_id, products.category, orders.ordered_date

),

sequenced as (

    select
        *,
        row_number() over (partition by customer_id, category order by purchased_date) as purchase_number,
        min(purchased_date) over (partition by customer_id, category) as first_purchased_date,
        lag(purchased_date) over (partition by customer_id, category order by purchased_date)
            as previous_purchased_date,
        lead(purchased_date) over (partition by customer_id, category order by purchased_date)
            as next_purchased_date
    from category_days

),

rhythm as (

    select
        *,
        {{ dbt.datediff('previous_purchased_date', 'purchased_date', 'day') }} as days_since_previous_purchase,
        purchase_number - 1 as count_intervals,
        case
            when purchase_number > 1
                then cast({{ dbt.datediff('first_purchased_date', 'purchased_date', 'day') }} as {{ dbt.type_float() }})
                    / (purchase_number - 1)
        end as avg_interval_days
    from sequenced

),

expected as (

    select
        *,
        case
            when coverage_days is not null
                then (coverage_days + count_intervals * coalesce(avg_interval_days, 0)) / (1 + count_intervals)
            else avg_interval_days
        end as expected_interval_days
    from rhythm

),

final as (

    select
        {{ dbt.concat(["customer_id", "'|'", "category", "'|'", dbt.cast("purchased_date", dbt.type_string())]) }}
            as category_purchase_id,
        customer_id,
        category,
        purchased_date,
        purchase_number,
        count_orders,
        quantity,
        revenue,
        has_consumable,
        coverage_days,
        previous_purchased_date,
        days_since_previous_purchase,
        next_purchased_date,
        count_intervals,
        avg_interval_days,
        expected_interval_days,
        cast(
            {{ dbt.dateadd('day', 'cast(round(cast(expected_interval_days as ' ~ dbt.type_numeric() ~ ')) as ' ~ dbt.type_int() ~ ')', 'purchased_date') }}
            as date
        ) as expected_next_purchase_date,
        source_load_id
    from expected

)

select * from final
