{#
    Monthly cohorts by the month of the customer's first completed order, and the share of each cohort buying
    again in every later month up to run_date (the running month counts up to run_date). Every month from the
    cohort's own to run_date's has a row, 0 when nobody of the cohort bought: a month without sales is a finding,
    not a gap, and the table is as fresh as the run (the warehouse gate's freshness check reads period_end).
#}
with

calendar_days as (

    select * from {{ ref('int_calendar_days') }}

),

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

months as (

    select distinct calendar_days.month_start as period_start
    from calendar_days
    where calendar_days.date_day <= {{ run_date() }}

),

cohort_months as (

    select
        cohort_sizes.cohort_month,
        cohort_sizes.count_cohort_customers,
        months.period_start
    from cohort_sizes
    inner join months
        on months.period_start >= cohort_sizes.cohort_month

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
        cohort_months.cohort_month,
        cohort_months.period_start,
        least(cast({{ dbt.last_day('cohort_months.period_start', 'month') }} as date), {{ run_date() }}) as period_end,
        cast(
            (extract(year from cohort_months.period_start) - extract(year from cohort_months.cohort_month)) * 12
            + extract(month from cohort_months.period_start) - extract(month from cohort_months.cohort_month)
            as integer
        ) as months_since_first_order,
        cast(cohort_months.count_cohort_customers as {{ dbt.type_bigint() }}) as count_cohort_customers,
        cast(coalesce(activity.count_buying_customers, 0) as {{ dbt.type_bigint() }}) as count_buying_customers,
        cast(coalesce(activity.count_buying_customers, 0) as {{ dbt.type_float() }})
        / cohort_months.count_cohort_customers as retention_share
    from cohort_months
    left join activity
        on activity.cohort_month = cohort_months.cohort_month
        and activity.period_start = cohort_months.period_start

)

select * from final
