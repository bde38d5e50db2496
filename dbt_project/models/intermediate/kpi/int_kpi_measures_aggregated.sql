{#
    Every KPI measure per period (day or month) and group, for both grains; kpi_customer_health_daily and
    _monthly publish one grain each. Formulas are documented on those marts. Orders are assigned to groups the
    way customers are: overall, by the customer's segment at the start of the order's month, by the order's
    channel. The Pareto class of an order's customer is the one held at the start of the order's month.

    Incremental like int_kpi_customers_grouped: a night recomputes whole periods from kpi_window_start() and
    replaces them (delete+insert on grain and period_start).
#}
{{
    config(
        materialized='incremental',
        unique_key=['grain', 'period_start'],
    )
}}

{% set window_start = kpi_window_start() %}
{% set month_window_start = 'cast(' ~ dbt.date_trunc('month', window_start) ~ ' as date)' %}
{% set input_start = dbt.dateadd('month', -1, month_window_start) %}

with

periods as (

    select * from {{ ref('int_kpi_periods') }}
    {% if is_incremental() %}
    where (grain = 'day' and period_start >= {{ window_start }})
        or (grain = 'month' and period_start >= {{ month_window_start }})
    {% endif %}

),

members as (

    {# In an incremental run, also the period before the window: the base of its retention rate. #}
    select * from {{ ref('int_kpi_customers_grouped') }}
    {% if is_incremental() %}
    where period_start >= {{ input_start }}
    {% endif %}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}
    where ordered_date <= {{ run_date() }}
    {% if is_incremental() %}
        and ordered_date >= {{ input_start }}
    {% endif %}

),

purchases as (

    select * from {{ ref('int_purchases_sequenced') }}

),

states as (

    select * from {{ ref('int_customer_states_as_of') }}

),

lifecycle_counts as (

    select * from {{ ref('int_lifecycle_statuses_counted') }}

),

orders_classified as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_date,
        cast({{ dbt.date_trunc('month', 'orders.ordered_date') }} as date) as month_start,
        orders.channel,
        orders.is_completed,
        orders.is_cancelled,
        orders.is_returned,
        orders.total_amount,
        purchases.days_since_previous_purchase,
        coalesce(states.rfm_segment, 'prospect') as rfm_segment,
        coalesce(states.pareto_class, 'tail') = 'pareto' as is_pareto_customer
    from orders
    left join purchases
        on orders.order_id = purchases.order_id
    left join states
        on orders.customer_id = states.customer_id
        and cast({{ dbt.date_trunc('month', 'orders.ordered_date') }} as date) = states.as_of_date

),

orders_grouped as (

    {% for grain, period_start in [('day', 'ordered_date'), ('month', 'month_start')] %}
        {% for dimension, dimension_value in [('overall', "'all'"), ('segment', 'rfm_segment'), ('channel', 'channel')] %}
    select
        '{{ grain }}' as grain,
        {{ period_start }} as period_start,
        '{{ dimension }}' as dimension,
        {{ dimension_value }} as dimension_value,
        orders_classified.*
    from orders_classified
            {% if not loop.last %}union all{% endif %}
        {% endfor %}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

order_measures as (

    select
        grain,
        period_start,
        dimension,
        dimension_value,
        count(*) as count_orders_placed,
        sum(case when is_completed then 1 else 0 end) as count_orders,
        sum(case when is_cancelled then 1 else 0 end) as count_cancelled_orders,
        sum(case when is_returned then 1 else 0 end) as count_returned_orders,
        sum(case when is_completed then total_amount else 0 end) as revenue,
        sum(case when is_completed and is_pareto_customer then total_amount else 0 end) as pareto_revenue,
        sum(case when is_completed then days_since_previous_purchase end) as sum_days_between_purchases,
        sum(case when is_completed and days_since_previous_purchase is not null then 1 else 0 end)
            as count_purchase_intervals
    from orders_grouped
    group by grain, period_start, dimension, dimension_value

),

customer_measures as (

    select
        grain,
        period_start,
        dimension,
        dimension_value,
        count(*) as count_customers,
        sum(case when was_member_in_previous_period then 1 else 0 end) as count_retained_customers,
        sum(case when is_satisfied then 1 else 0 end) as count_satisfied_customers,
        sum(case when has_rating then 1 else 0 end) as count_rated_customers,
        sum(count_reviews) as count_reviews,
        sum(count_positive_reviews) as count_positive_reviews,
        sum(count_complaints) as count_complaints,
        sum(case when count_complaints > 0 then 1 else 0 end) as count_complaining_customers,
        sum(case when is_buyer then 1 else 0 end) as count_buyers,
        sum(case when is_repeat_buyer then 1 else 0 end) as count_repeat_buyers,
        sum(case when is_loyal then 1 else 0 end) as count_loyal_customers
    from members
    group by grain, period_start, dimension, dimension_value

),

lifecycle_by_period as (

    select
        periods.grain,
        periods.period_start,
        'segment' as dimension,
        lifecycle_counts.rfm_segment as dimension_value,
        lifecycle_counts.lifecycle_status,
        lifecycle_counts.count_customers
    from periods
    inner join lifecycle_counts
        on periods.period_end = lifecycle_counts.status_date

    union all

    select
        periods.grain,
        periods.period_start,
        'overall' as dimension,
        'all' as dimension_value,
        lifecycle_counts.lifecycle_status,
        lifecycle_counts.count_customers
    from periods
    inner join lifecycle_counts
        on periods.period_end = lifecycle_counts.status_date

),

lifecycle_measures as (

    select
        grain,
        period_start,
        dimension,
        dimension_value,
        sum(case when lifecycle_status = 'active' then count_customers else 0 end) as count_lifecycle_active,
        sum(case when lifecycle_status = 'at_risk' then count_customers else 0 end) as count_lifecycle_at_risk,
        sum(case when lifecycle_status = 'lapsed' then count_customers else 0 end) as count_lifecycle_lapsed
    from lifecycle_by_period
    group by grain, period_start, dimension, dimension_value

),

groups as (

    select grain, period_start, 'overall' as dimension, 'all' as dimension_value from periods
    union
    select grain, period_start, dimension, dimension_value from customer_measures
    union
    select grain, period_start, dimension, dimension_value from lifecycle_measures

),

joined as (

    select
        groups.grain,
        groups.period_start,
        periods.period_end,
        groups.dimension,
        groups.dimension_value,
        coalesce(customer_measures.count_customers, 0) as count_customers,
        coalesce(previous_customers.count_customers, 0) as count_customers_previous_period,
        coalesce(customer_measures.count_retained_customers, 0) as count_retained_customers,
        coalesce(customer_measures.count_customers, 0) - coalesce(customer_measures.count_retained_customers, 0)
            as count_new_customers,
        coalesce(order_measures.count_orders_placed, 0) as count_orders_placed,
        coalesce(order_measures.count_orders, 0) as count_orders,
        coalesce(order_measures.count_cancelled_orders, 0) as count_cancelled_orders,
        coalesce(order_measures.count_returned_orders, 0) as count_returned_orders,
        cast(coalesce(order_measures.revenue, 0) as numeric(18, 2)) as revenue,
        cast(coalesce(order_measures.pareto_revenue, 0) as numeric(18, 2)) as pareto_revenue,
        order_measures.sum_days_between_purchases,
        coalesce(order_measures.count_purchase_intervals, 0) as count_purchase_intervals,
        coalesce(customer_measures.count_satisfied_customers, 0) as count_satisfied_customers,
        coalesce(customer_measures.count_rated_customers, 0) as count_rated_customers,
        coalesce(customer_measures.count_reviews, 0) as count_reviews,
        coalesce(customer_measures.count_positive_reviews, 0) as count_positive_reviews,
        coalesce(customer_measures.count_complaints, 0) as count_complaints,
        coalesce(customer_measures.count_complaining_customers, 0) as count_complaining_customers,
        coalesce(customer_measures.count_buyers, 0) as count_buyers,
        coalesce(customer_measures.count_repeat_buyers, 0) as count_repeat_buyers,
        coalesce(customer_measures.count_loyal_customers, 0) as count_loyal_customers,
        case when groups.dimension <> 'channel' then coalesce(lifecycle_measures.count_lifecycle_active, 0) end
            as count_lifecycle_active,
        case when groups.dimension <> 'channel' then coalesce(lifecycle_measures.count_lifecycle_at_risk, 0) end
            as count_lifecycle_at_risk,
        case when groups.dimension <> 'channel' then coalesce(lifecycle_measures.count_lifecycle_lapsed, 0) end
            as count_lifecycle_lapsed
    from groups
    inner join periods
        on groups.grain = periods.grain
        and groups.period_start = periods.period_start
    left join customer_measures
        on groups.grain = customer_measures.grain
        and groups.period_start = customer_measures.period_start
        and groups.dimension = customer_measures.dimension
        and groups.dimension_value = customer_measures.dimension_value
    left join customer_measures as previous_customers
        on groups.grain = previous_customers.grain
        and periods.previous_period_start = previous_customers.period_start
        and groups.dimension = previous_customers.dimension
        and groups.dimension_value = previous_customers.dimension_value
    left join order_measures
        on groups.grain = order_measures.grain
        and groups.period_start = order_measures.period_start
        and groups.dimension = order_measures.dimension
        and groups.dimension_value = order_measures.dimension_value
    left join lifecycle_measures
        on groups.grain = lifecycle_measures.grain
        and groups.period_start = lifecycle_measures.period_start
        and groups.dimension = lifecycle_measures.dimension
        and groups.dimension_value = lifecycle_measures.dimension_value

),

{% set float = dbt.type_float() %}

final as (

    select
        {{ dbt.concat([
            "grain", "'|'", dbt.cast("period_start", dbt.type_string()), "'|'", "dimension", "'|'", "dimension_value",
        ]) }} as kpi_row_id,
        joined.*,
        {{ safe_divide('cast(count_retained_customers as ' ~ float ~ ')', 'count_customers_previous_period') }}
            as retention_rate,
        {{ safe_divide('cast(revenue as ' ~ float ~ ')', 'count_orders') }} as average_order_value,
        {{ safe_divide('cast(count_satisfied_customers as ' ~ float ~ ')', 'count_customers') }}
            as satisfaction_rate,
        {{ safe_divide('cast(count_satisfied_customers as ' ~ float ~ ')', 'count_rated_customers') }}
            as rated_satisfaction_rate,
        {{ safe_divide('cast(count_positive_reviews as ' ~ float ~ ')', 'count_reviews') }}
            as positive_review_share,
        {{ safe_divide('cast(count_complaining_customers as ' ~ float ~ ')', 'count_customers') }}
            as complaint_rate,
        {{ safe_divide('cast(count_complaints as ' ~ float ~ ')', 'count_customers') }}
            as complaints_per_customer,
        {{ safe_divide('cast(count_repeat_buyers as ' ~ float ~ ')', 'count_buyers') }} as repurchase_rate,
        {{ safe_divide('cast(sum_days_between_purchases as ' ~ float ~ ')', 'count_purchase_intervals') }}
            as avg_days_between_purchases,
        {{ safe_divide('cast(count_loyal_customers as ' ~ float ~ ')', 'count_customers') }}
            as loyal_customer_share,
        case
            when revenue > 0 then cast(pareto_revenue as {{ float }}) / cast(revenue as {{ float }})
        end as pareto_revenue_share
    from joined

)

select * from final
