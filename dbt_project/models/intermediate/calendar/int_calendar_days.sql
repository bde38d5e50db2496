with

days_spined as (

    {{ dbt.date_spine('day', date_literal(var('calendar_start_date')), dbt.dateadd('day', 1, run_date())) }}

),

final as (

    select
        cast(date_day as date) as date_day,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        cast({{ dbt.last_day('date_day', 'month') }} as date) as month_end
    from days_spined

)

select * from final
