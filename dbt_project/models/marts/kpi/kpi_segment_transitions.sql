{#
    How customers moved between RFM segments from the start of run_date's month to today's standing
    (as of run_date + 1), from the same standings the KPI marts and the customer view use. When run_date is the
    last day of a month both ends are month starts, a whole month apart.
#}
with

states as (

    select * from {{ ref('int_customer_states_as_of') }}

),

bounds as (

    select
        cast({{ dbt.date_trunc('month', run_date()) }} as date) as from_as_of_date,
        cast({{ dbt.dateadd('day', 1, run_date()) }} as date) as as_of_date_today

),

pairs as (

    select
        bounds.from_as_of_date,
        bounds.as_of_date_today,
        coalesce(states_before.rfm_segment, 'not_yet_a_customer') as from_segment,
        states_now.rfm_segment as to_segment
    from states as states_now
    cross join bounds
    left join states as states_before
        on states_before.customer_id = states_now.customer_id
        and states_before.as_of_date = bounds.from_as_of_date
    where states_now.as_of_date = bounds.as_of_date_today

),

final as (

    select
        pairs.from_as_of_date,
        pairs.as_of_date_today as as_of_date,
        pairs.from_segment,
        pairs.to_segment,
        cast(count(*) as {{ dbt.type_bigint() }}) as count_customers
    from pairs
    group by pairs.from_as_of_date, pairs.as_of_date_today, pairs.from_segment, pairs.to_segment

)

select * from final
