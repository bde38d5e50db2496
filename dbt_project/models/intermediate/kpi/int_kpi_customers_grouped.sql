{#
    One row per KPI period (day or month), group and customer of the group: the customers a KPI counts.
    - overall / all: every customer active in the period (ordered, reviewed or visited while logged in);
    - segment / <rfm_segment>: the same customers by the RFM segment they held at the start of the period's
      month (prospect when they had no completed order before it);
    - channel / <channel>: customers who placed an order through the channel in the period.
    Facts per customer for the period: latest rating, reviews and complaints written, loyalty at the period
    end, and for the group, whether the customer bought (completed order; through the channel for a channel
    group), was a member of the same group in the previous period, and had bought twice or more by period end.

    Incremental, unlike the rest of this folder (it is the largest table of the KPI chain): a night recomputes
    whole periods from kpi_window_start() (late_data_days before run_date; months from that day's month) and
    replaces them (delete+insert on grain and period_start). Who was a member in the period before the window
    (for retention) is read back from the table itself.
#}
{{
    config(
        materialized='incremental',
        unique_key=['grain', 'period_start'],
        indexes=[{'columns': ['grain', 'period_start']}],
    )
}}

{% set window_start = kpi_window_start() %}
{% set month_window_start = 'cast(' ~ dbt.date_trunc('month', window_start) ~ ' as date)' %}
{% set input_start = month_window_start %}

with

activity as (

    select * from {{ ref('int_customer_activity_daily') }}
    {% if is_incremental() %}
    where activity_date >= {{ input_start }}
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

activity_periods as (

    select
        'day' as grain,
        activity_date as period_start,
        activity.*
    from activity

    union all

    select
        'month' as grain,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as period_start,
        activity.*
    from activity

),

ratings_ranked as (

    select
        *,
        row_number() over (
            partition by grain, period_start, customer_id
            order by case when latest_rated_at is null then 1 else 0 end, latest_rated_at desc, latest_review_id desc
        ) as rating_recency_rank
    from activity_periods

),

period_customers as (

    {# Period bounds are derived here rather than joined from int_kpi_periods: same values, better row estimates. #}
    select
        grain,
        period_start,
        case
            when grain = 'day' then period_start
            when {{ dbt.last_day('period_start', 'month') }} > {{ run_date() }} then {{ run_date() }}
            else cast({{ dbt.last_day('period_start', 'month') }} as date)
        end as period_end,
        case
            when grain = 'day' then cast({{ dbt.dateadd('day', -1, 'period_start') }} as date)
            else cast({{ dbt.dateadd('month', -1, 'period_start') }} as date)
        end as previous_period_start,
        cast({{ dbt.date_trunc('month', 'period_start') }} as date) as month_start,
        customer_id,
        sum(count_reviews) as count_reviews,
        sum(count_positive_reviews) as count_positive_reviews,
        sum(count_complaints) as count_complaints,
        max(case when rating_recency_rank = 1 then latest_rating end) as latest_rating
    from ratings_ranked
    group by grain, period_start, customer_id

),

loyalty as (

    select
        period_customers.grain,
        period_customers.period_start,
        period_customers.customer_id,
        count(*) as count_orders_365d
    from period_customers
    inner join purchases
        on period_customers.customer_id = purchases.customer_id
        and purchases.ordered_date <= period_customers.period_end
        and purchases.ordered_date > {{ dbt.dateadd('day', -365, 'period_customers.period_end') }}
    group by period_customers.grain, period_customers.period_start, period_customers.customer_id

),

lifetime_purchases as (

    {# Lifetime completed orders at the period end, for customers who bought in the period. #}
    select
        'day' as grain,
        ordered_date as period_start,
        customer_id,
        max(purchase_number) as count_orders_lifetime
    from purchases
    {% if is_incremental() %}
    where ordered_date >= {{ input_start }}
    {% endif %}
    group by ordered_date, customer_id

    union all

    select
        'month' as grain,
        cast({{ dbt.date_trunc('month', 'ordered_date') }} as date) as period_start,
        customer_id,
        max(purchase_number) as count_orders_lifetime
    from purchases
    {% if is_incremental() %}
    where ordered_date >= {{ input_start }}
    {% endif %}
    group by cast({{ dbt.date_trunc('month', 'ordered_date') }} as date), customer_id

),

channel_orders as (

    select
        'day' as grain,
        ordered_date as period_start,
        customer_id,
        channel,
        max(case when is_completed then 1 else 0 end) as has_bought
    from orders
    group by ordered_date, customer_id, channel

    union all

    select
        'month' as grain,
        cast({{ dbt.date_trunc('month', 'ordered_date') }} as date) as period_start,
        customer_id,
        channel,
        max(case when is_completed then 1 else 0 end) as has_bought
    from orders
    group by cast({{ dbt.date_trunc('month', 'ordered_date') }} as date), customer_id, channel

),

customers_bought as (

    select grain, period_start, customer_id, max(has_bought) as has_bought
    from channel_orders
    group by grain, period_start, customer_id

),

customer_facts as (

    select
        period_customers.*,
        coalesce(states.rfm_segment, 'prospect') as rfm_segment,
        coalesce(loyalty.count_orders_365d, 0) >= 3 as is_loyal,
        coalesce(lifetime_purchases.count_orders_lifetime, 0) as count_orders_lifetime,
        coalesce(customers_bought.has_bought, 0) = 1 as has_bought
    from period_customers
    left join states
        on period_customers.customer_id = states.customer_id
        and period_customers.month_start = states.as_of_date
    left join loyalty
        on period_customers.grain = loyalty.grain
        and period_customers.period_start = loyalty.period_start
        and period_customers.customer_id = loyalty.customer_id
    left join lifetime_purchases
        on period_customers.grain = lifetime_purchases.grain
        and period_customers.period_start = lifetime_purchases.period_start
        and period_customers.customer_id = lifetime_purchases.customer_id
    left join customers_bought
        on period_customers.grain = customers_bought.grain
        and period_customers.period_start = customers_bought.period_start
        and period_customers.customer_id = customers_bought.customer_id

),

current_members as (

    select
        grain, period_start, period_end, previous_period_start, customer_id,
        'overall' as dimension,
        'all' as dimension_value,
        count_reviews, count_positive_reviews, count_complaints, latest_rating, is_loyal, count_orders_lifetime,
        has_bought as is_buyer
    from customer_facts

    union all

    select
        grain, period_start, period_end, previous_period_start, customer_id,
        'segment' as dimension,
        rfm_segment as dimension_value,
        count_reviews, count_positive_reviews, count_complaints, latest_rating, is_loyal, count_orders_lifetime,
        has_bought as is_buyer
    from customer_facts

    union all

    {# A channel's customers bought there when they completed an order through that channel. #}
    select
        customer_facts.grain,
        customer_facts.period_start,
        customer_facts.period_end,
        customer_facts.previous_period_start,
        customer_facts.customer_id,
        'channel' as dimension,
        channel_orders.channel as dimension_value,
        customer_facts.count_reviews,
        customer_facts.count_positive_reviews,
        customer_facts.count_complaints,
        customer_facts.latest_rating,
        customer_facts.is_loyal,
        customer_facts.count_orders_lifetime,
        channel_orders.has_bought = 1 as is_buyer
    from customer_facts
    inner join channel_orders
        on customer_facts.grain = channel_orders.grain
        and customer_facts.period_start = channel_orders.period_start
        and customer_facts.customer_id = channel_orders.customer_id

),

members as (

    select
        *,
        false as is_previous_only
    from current_members

    {% if is_incremental() %}

    union all

    {# The members of the period before the window, only to tell who was retained; not emitted again. #}
    select
        grain,
        period_start,
        period_end,
        cast(null as date) as previous_period_start,
        customer_id,
        dimension,
        dimension_value,
        count_reviews,
        count_positive_reviews,
        count_complaints,
        latest_rating,
        is_loyal,
        0 as count_orders_lifetime,
        is_buyer,
        true as is_previous_only
    from {{ this }}
    where (grain = 'day' and period_start = {{ dbt.dateadd('day', -1, window_start) }})
        or (grain = 'month' and period_start = {{ dbt.dateadd('month', -1, month_window_start) }})

    {% endif %}

),

final as (

    select
        grain,
        period_start,
        period_end,
        dimension,
        dimension_value,
        customer_id,
        count_reviews,
        count_positive_reviews,
        count_complaints,
        latest_rating,
        latest_rating is not null as has_rating,
        coalesce(latest_rating >= 4, false) as is_satisfied,
        is_loyal,
        is_buyer,
        is_buyer and count_orders_lifetime >= 2 as is_repeat_buyer,
        {# The customer's previous period in this group is the period just before: retained. #}
        coalesce(
            lag(period_start) over (
                partition by grain, dimension, dimension_value, customer_id
                order by period_start
            ) = previous_period_start,
            false
        ) as was_member_in_previous_period,
        is_previous_only
    from members

)

select
    grain,
    period_start,
    period_end,
    dimension,
    dimension_value,
    customer_id,
    count_reviews,
    count_positive_reviews,
    count_complaints,
    latest_rating,
    has_rating,
    is_satisfied,
    is_loyal,
    is_buyer,
    is_repeat_buyer,
    was_member_in_previous_period
from final
where not is_previous_only
{% if is_incremental() %}
    and (
        (grain = 'day' and period_start >= {{ window_start }})
        or (grain = 'month' and period_start >= {{ month_window_start }})
    )
{% endif %}
