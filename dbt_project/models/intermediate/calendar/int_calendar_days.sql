{#
    The spine starts at the earliest of var('calendar_start_date') and the first day with a signup or an order,
    so history from any year is covered without configuration (an export reaching back to 1997 is not cut at
    2000). A run date before that first day gives an empty spine rather than an error.
#}
with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

first_activity as (

    select min({{ store_local_date('orders.ordered_at') }}) as first_day from orders
    union all
    select min({{ store_local_date('customers.signup_at') }}) as first_day from customers

),

bounds as (

    select
        least({{ date_literal(var('calendar_start_date')) }}, min(first_activity.first_day)) as first_day,
        {{ dbt.dateadd('day', 1, run_date()) }} as last_day
    from first_activity

),

days_spined as (

    select cast(day_series.day_start as date) as date_day
    from bounds
    cross join generate_series(bounds.first_day, bounds.last_day, interval '1 day') as day_series (day_start)
    {# dbt.date_spine ends before its end date: keep the same half-open range #}
    where cast(day_series.day_start as date) < bounds.last_day

),

final as (

    select
        date_day,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        cast({{ dbt.last_day('date_day', 'month') }} as date) as month_end
    from days_spined

)

select * from final
