{#
    Monthly cohorts by the month of the customer's first completed order, and the share of each cohort buying
    again in every later month up to run_date (the running month counts up to run_date).
#}
with

orders as (

    select * from {{ ref('fct_orders') }}
    where is_completed and ordered_date <= {{ run_date() }}

),

customer_months as (

    select distinct
        orders.customer_id,
        cast({{ dbt.date_trunc('month', 'orders.ordered_date') }} as date) as period_start
    from orders

),

cohorts as (

    select
        customer_months.customer_id,
        min(customer_months.period_start) as cohort_month
    from customer_months
    group by customer_months.customer_id

),

cohort_sizes as (

    select
        cohorts.cohort_month,
        count(*) as count_cohort_customers
    from cohorts
    group by cohorts.cohort_month

),

activity as (

    select
        cohorts.cohort_month,
        customer_months.period_start,
        count(*) as count_buying_customers
    from customer_months
    inner join cohorts
        on cohorts.customer_id = customer_months.customer_id
    group by cohorts.cohort_month, customer_months.period_start

),

final as (

    select
        activity.cohort_month,
        activity.period_start,
        least(cast({{ dbt.last_day('activity.period_start', 'month') }} as date), {{ run_date() }}) as period_end,
        cast(
            (extract(year from activity.period_start) - extract(year from activity.cohort_month)) * 12
            + extract(month from activity.period_start) - extract(month from activity.cohort_month)
            as integer
        ) as months_since_first_order,
        cast(cohort_sizes.count_cohort_customers as {{ dbt.type_bigint() }}) as count_cohort_customers,
        cast(activity.count_buying_customers as {{ dbt.type_bigint() }}) as count_buying_customers,
        cast(activity.count_buying_customers as {{ dbt.type_float() }})
        / cohort_sizes.count_cohort_customers as retention_share
    from activity
    inner join cohort_sizes
        on cohort_sizes.cohort_month = activity.cohort_month

)

select * from final
