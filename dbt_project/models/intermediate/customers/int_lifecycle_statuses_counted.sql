{#
    How many customers are in each lifecycle status at the end of each store-local day, by RFM segment (the segment held
    at the start of the day's month). Rather than a customer x day grid, each customer's history is cut into
    intervals between their purchase days: after a purchase on day o (and before the next one) the customer is
    active from o to o + active_max_days, at_risk to o + at_risk_max_days, lapsed afterwards. Intervals are cut
    at month boundaries (the segment can change there), turned into +1/-1 deltas and summed over the days.

    Incremental (delete+insert on lifecycle_count_id): a night recomputes the days from late_data_days before
    run_date (from the day after the latest day in the table after missed nights), counting only the pieces that
    reach into those days, clipped to their first day; the pre-hook first removes those days, so a combination
    whose count fell to zero does not survive. A purchase older than that reaches the earlier days' counts with
    the next full refresh, as it reaches the KPI marts.
#}
{{
    config(
        materialized='incremental',
        unique_key='lifecycle_count_id',
        pre_hook="{{ delete_lifecycle_count_window() }}",
    )
}}

{%- set window_start = lifecycle_count_window_start() %}
with

calendar as (

    select * from {{ ref('int_calendar_days') }}

),

purchases as (

    {# Two columns only: an incremental run reads this twice, and PostgreSQL then materialises it. #}
    select customer_id, ordered_date from {{ ref('int_purchases_sequenced') }}

),

states as (

    select * from {{ ref('int_customer_states_as_of') }}

),

activity as (

    select * from {{ ref('int_customer_activity_daily') }}

),

status_days as (

    select calendar.date_day, calendar.month_start
    from calendar
    where calendar.date_day <= {{ run_date() }}
        and calendar.date_day >= (select min(activity_date) from activity)
    {% if is_incremental() %}
        and calendar.date_day >= {{ window_start }}
    {% endif %}

),

months as (

    select distinct month_start, {{ dbt.last_day('month_start', 'month') }} as month_end
    from status_days

),

purchase_days as (

    select distinct customer_id, ordered_date
    from purchases
    {% if is_incremental() %}
    where ordered_date >= {{ window_start }}

    union

    {# Only the last purchase day before the window has an interval reaching into it. #}
    select customer_id, max(ordered_date) as ordered_date
    from purchases
    where ordered_date < {{ window_start }}
    group by customer_id
    {% endif %}

),

purchase_days_next as (

    select
        customer_id,
        ordered_date,
        coalesce(
            {{ dbt.dateadd('day', -1, 'lead(ordered_date) over (partition by customer_id order by ordered_date)') }},
            {{ run_date() }}
        ) as last_day_before_next
    from purchase_days

),

intervals as (

    select
        customer_id,
        'active' as lifecycle_status,
        ordered_date as interval_start,
        least({{ dbt.dateadd('day', var('active_max_days'), 'ordered_date') }}, last_day_before_next) as interval_end
    from purchase_days_next

    union all

    select
        customer_id,
        'at_risk' as lifecycle_status,
        {{ dbt.dateadd('day', var('active_max_days') + 1, 'ordered_date') }} as interval_start,
        least({{ dbt.dateadd('day', var('at_risk_max_days'), 'ordered_date') }}, last_day_before_next) as interval_end
    from purchase_days_next

    union all

    select
        customer_id,
        'lapsed' as lifecycle_status,
        {{ dbt.dateadd('day', var('at_risk_max_days') + 1, 'ordered_date') }} as interval_start,
        last_day_before_next as interval_end
    from purchase_days_next

),

pieces as (

    select
        intervals.customer_id,
        intervals.lifecycle_status,
        coalesce(states.rfm_segment, 'prospect') as rfm_segment,
        {% if is_incremental() -%}
        {# Clipped to the window: the running sum starts at its first day. #}
        cast(greatest(intervals.interval_start, months.month_start, {{ window_start }}) as date) as piece_start,
        {%- else -%}
        cast(case when intervals.interval_start > months.month_start then intervals.interval_start else months.month_start end as date)
            as piece_start,
        {%- endif %}
        cast(case when intervals.interval_end < months.month_end then intervals.interval_end else months.month_end end as date)
            as piece_end
    from intervals
    inner join months
        on months.month_start <= intervals.interval_end
        and months.month_end >= intervals.interval_start
    left join states
        on intervals.customer_id = states.customer_id
        and months.month_start = states.as_of_date
    where intervals.interval_start <= intervals.interval_end
    {% if is_incremental() %}
        and intervals.interval_end >= {{ window_start }}
    {% endif %}

),

deltas as (

    select piece_start as delta_date, rfm_segment, lifecycle_status, 1 as delta
    from pieces

    union all

    select {{ dbt.dateadd('day', 1, 'piece_end') }} as delta_date, rfm_segment, lifecycle_status, -1 as delta
    from pieces

),

deltas_by_day as (

    select cast(delta_date as date) as delta_date, rfm_segment, lifecycle_status, sum(delta) as delta
    from deltas
    group by cast(delta_date as date), rfm_segment, lifecycle_status

),

combinations as (

    select distinct rfm_segment, lifecycle_status from deltas_by_day

),

grid as (

    select status_days.date_day, combinations.rfm_segment, combinations.lifecycle_status
    from status_days
    cross join combinations

),

counted as (

    select
        grid.date_day as status_date,
        grid.rfm_segment,
        grid.lifecycle_status,
        sum(coalesce(deltas_by_day.delta, 0)) over (
            partition by grid.rfm_segment, grid.lifecycle_status
            order by grid.date_day
            rows between unbounded preceding and current row
        ) as count_customers
    from grid
    left join deltas_by_day
        on grid.date_day = deltas_by_day.delta_date
        and grid.rfm_segment = deltas_by_day.rfm_segment
        and grid.lifecycle_status = deltas_by_day.lifecycle_status

),

final as (

    select
        {{ dbt.concat([dbt.cast("status_date", dbt.type_string()), "'|'", "rfm_segment", "'|'", "lifecycle_status"]) }}
            as lifecycle_count_id,
        status_date,
        rfm_segment,
        lifecycle_status,
        count_customers
    from counted
    where count_customers > 0

)

select * from final
