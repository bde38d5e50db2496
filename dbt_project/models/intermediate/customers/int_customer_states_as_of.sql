{#
    Each customer's standing as of the start of a store-local day (as_of_date), from completed orders strictly before it:
    counts and revenue, lifecycle and loyalty status, RFM scores and segment, Pareto value class. As-of dates are
    the first day of every month from the first month with customer activity up to run_date (history for KPI
    segments and ML training; every Monday too with var('as_of_grain') 'week') and run_date + 1 (today's standing, for the customer view and nightly scoring).

    - Status day: as_of_date - 1, the last complete day; days_since_last_order is counted to it.
    - Lifecycle: active when days_since_last_order <= var('active_max_days'), at_risk up to
      var('at_risk_max_days'), lapsed beyond, prospect without a completed order.
    - Loyalty: loyal with 3 or more completed orders in the 365 days up to the status day, repeat with 2,
      one_time with 1, none with 0.
    - RFM: among customers with a completed order, each score is ceil(5 * rank / n) where rank orders customers
      from worst to best (longest recency, fewest orders, least revenue = rank 1; ties share the lower rank) and
      n is the number of scored customers. The segment follows the usual recency x frequency grid.
    - Pareto: customers sorted by lifetime revenue (desc, then customer_id); a customer is pareto when the
      revenue of the customers before them is below 80% of the total (they are needed to reach 80%), middle
      below 95%, tail otherwise (including every customer without revenue).


    Incremental, unlike the rest of this folder: a history date's standing only depends on data before it, so a
    night computes the as-of dates not yet in the table, those within late_data_days of run_date + 1 (late and
    corrected deliveries) and run_date + 1, replacing each as-of date whole (delete+insert on as_of_date). The
    pre-hook drops the previous night's as-of date unless it is a history date, and any as-of date after
    run_date + 1 (left by a later run when an earlier day is re-run).
#}
{{
    config(
        materialized='incremental',
        unique_key='as_of_date',
        pre_hook="{{ delete_stale_as_of_dates() }}",
        indexes=[
            {'columns': ['customer_id', 'as_of_date'], 'unique': true},
            {'columns': ['as_of_date']},
        ],
    )
}}

with

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

activity as (

    select * from {{ ref('int_customer_activity_daily') }}

),

purchases as (

    select * from {{ ref('int_purchases_sequenced') }}

),

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

candidate_as_of_dates as (

    select calendar.date_day as as_of_date
    from calendar
    where {{ is_history_as_of_date('calendar.date_day') }}
        and calendar.date_day <= {{ run_date() }}
        and calendar.date_day >= (select {{ dbt.date_trunc('month', 'min(activity_date)') }} from activity)

    union

    select cast({{ dbt.dateadd('day', 1, run_date()) }} as date) as as_of_date

),

as_of_dates as (

    select as_of_date from candidate_as_of_dates
    {% if is_incremental() %}
    where as_of_date >= {{ dbt.dateadd('day', 1 - var('late_data_days'), run_date()) }}
        or as_of_date not in (select distinct as_of_date from {{ this }})
    {% endif %}

),

population as (

    select
        customers.customer_id,
        as_of_dates.as_of_date
    from customers
    inner join as_of_dates
        on {{ store_local_date('customers.signup_at') }} < as_of_dates.as_of_date

    union

    select
        purchases.customer_id,
        as_of_dates.as_of_date
    from purchases
    inner join as_of_dates
        on purchases.ordered_date < as_of_dates.as_of_date

),

purchase_totals as (

    select
        purchases.customer_id,
        as_of_dates.as_of_date,
        count(*) as count_orders,
        sum(purchases.total_amount) as total_revenue,
        min(purchases.ordered_date) as first_order_date,
        max(purchases.ordered_date) as last_order_date,
        sum(
            case
                when purchases.ordered_date >= {{ dbt.dateadd('day', -365, 'as_of_dates.as_of_date') }} then 1
                else 0
            end
        ) as count_orders_365d
    from purchases
    inner join as_of_dates
        on purchases.ordered_date < as_of_dates.as_of_date
    group by purchases.customer_id, as_of_dates.as_of_date

),

totals_joined as (

    select
        population.customer_id,
        population.as_of_date,
        coalesce(purchase_totals.count_orders, 0) as count_orders,
        coalesce(purchase_totals.total_revenue, 0) as total_revenue,
        purchase_totals.first_order_date,
        purchase_totals.last_order_date,
        coalesce(purchase_totals.count_orders_365d, 0) as count_orders_365d,
        {{ dbt.datediff('purchase_totals.last_order_date', dbt.dateadd('day', -1, 'population.as_of_date'), 'day') }}
            as days_since_last_order
    from population
    left join purchase_totals
        on population.customer_id = purchase_totals.customer_id
        and population.as_of_date = purchase_totals.as_of_date

),

ranked as (

    select
        *,
        case when count_orders > 0 then 1 else 0 end as is_scored,
        sum(case when count_orders > 0 then 1 else 0 end) over (partition by as_of_date) as count_scored,
        rank() over (
            partition by as_of_date, case when count_orders > 0 then 1 else 0 end
            order by days_since_last_order desc
        ) as recency_rank,
        rank() over (
            partition by as_of_date, case when count_orders > 0 then 1 else 0 end
            order by count_orders
        ) as frequency_rank,
        rank() over (
            partition by as_of_date, case when count_orders > 0 then 1 else 0 end
            order by total_revenue
        ) as monetary_rank,
        sum(total_revenue) over (partition by as_of_date) as all_revenue,
        sum(total_revenue) over (
            partition by as_of_date
            order by total_revenue desc, customer_id
            rows between unbounded preceding and current row
        ) - total_revenue as revenue_before
    from totals_joined

),

scored as (

    select
        *,
        case when is_scored = 1 then floor((5.0 * recency_rank - 1) / count_scored) + 1 end as rfm_recency_score,
        case when is_scored = 1 then floor((5.0 * frequency_rank - 1) / count_scored) + 1 end as rfm_frequency_score,
        case when is_scored = 1 then floor((5.0 * monetary_rank - 1) / count_scored) + 1 end as rfm_monetary_score
    from ranked

),

final as (

    select
        {{ dbt.concat(["customer_id", "'|'", dbt.cast("as_of_date", dbt.type_string())]) }} as customer_state_id,
        customer_id,
        as_of_date,
        count_orders,
        total_revenue,
        first_order_date,
        last_order_date,
        days_since_last_order,
        count_orders_365d,
        case
            when count_orders = 0 then 'prospect'
            when days_since_last_order <= {{ var('active_max_days') }} then 'active'
            when days_since_last_order <= {{ var('at_risk_max_days') }} then 'at_risk'
            else 'lapsed'
        end as lifecycle_status,
        case
            when count_orders_365d >= 3 then 'loyal'
            when count_orders_365d = 2 then 'repeat'
            when count_orders_365d = 1 then 'one_time'
            else 'none'
        end as loyalty_status,
        cast(rfm_recency_score as {{ dbt.type_int() }}) as rfm_recency_score,
        cast(rfm_frequency_score as {{ dbt.type_int() }}) as rfm_frequency_score,
        cast(rfm_monetary_score as {{ dbt.type_int() }}) as rfm_monetary_score,
        case
            when is_scored = 1 then {{ dbt.concat([
                dbt.cast("cast(rfm_recency_score as " ~ dbt.type_int() ~ ")", dbt.type_string()),
                dbt.cast("cast(rfm_frequency_score as " ~ dbt.type_int() ~ ")", dbt.type_string()),
                dbt.cast("cast(rfm_monetary_score as " ~ dbt.type_int() ~ ")", dbt.type_string()),
            ]) }}
        end as rfm_score,
        case
            when is_scored = 0 then 'prospect'
            when rfm_recency_score >= 5 and rfm_frequency_score >= 4 then 'champions'
            when rfm_recency_score >= 3 and rfm_frequency_score >= 4 then 'loyal_customers'
            when rfm_recency_score >= 4 and rfm_frequency_score >= 2 then 'potential_loyalists'
            when rfm_recency_score = 5 then 'new_customers'
            when rfm_recency_score = 4 then 'promising'
            when rfm_recency_score = 3 and rfm_frequency_score = 3 then 'need_attention'
            when rfm_recency_score = 3 then 'about_to_sleep'
            when rfm_frequency_score = 5 then 'cannot_lose_them'
            when rfm_frequency_score >= 3 then 'at_risk'
            else 'hibernating'
        end as rfm_segment,
        case
            when revenue_before < 0.8 * all_revenue then 'pareto'
            when revenue_before < 0.95 * all_revenue then 'middle'
            else 'tail'
        end as pareto_class,
        case when all_revenue > 0 then revenue_before / all_revenue end as revenue_share_before
    from scored

)

select * from final
