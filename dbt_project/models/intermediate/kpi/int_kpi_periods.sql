{#
    The KPI periods: every store-local day and every calendar month from the first day with customer activity up to
    run_date. A month that is still running ends at run_date. previous_period_start is the period before (the
    day before, the month before), whose customers are the base of the retention rate.
#}
with

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

activity as (

    select * from {{ ref('int_customer_activity_daily') }}

),

days as (

    select date_day, month_start, month_end
    from calendar
    where calendar.date_day <= {{ run_date() }}
        and calendar.date_day >= (select min(activity_date) from activity)

),

periods as (

    select
        'day' as grain,
        date_day as period_start,
        date_day as period_end,
        cast({{ dbt.dateadd('day', -1, 'date_day') }} as date) as previous_period_start,
        month_start
    from days

    union all

    select distinct
        'month' as grain,
        month_start as period_start,
        case when month_end > {{ run_date() }} then {{ run_date() }} else month_end end as period_end,
        cast({{ dbt.dateadd('month', -1, 'month_start') }} as date) as previous_period_start,
        month_start
    from days

),

final as (

    select
        {{ dbt.concat(["grain", "'|'", dbt.cast("period_start", dbt.type_string())]) }} as period_id,
        grain,
        period_start,
        cast(period_end as date) as period_end,
        previous_period_start,
        month_start
    from periods

)

select * from final
