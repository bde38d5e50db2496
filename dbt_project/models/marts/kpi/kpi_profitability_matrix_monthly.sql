with

order_lines as (

    select * from {{ ref('fct_order_lines') }}
    where is_completed

),

states as (

    select * from {{ ref('int_customer_states_as_of') }}

),

lines_classified as (

    select
        cast({{ dbt.date_trunc('month', 'order_lines.ordered_date') }} as date) as period_start,
        coalesce(states.pareto_class, 'tail') as customer_value_class,
        coalesce(order_lines.category, 'unknown') as product_category,
        order_lines.customer_id,
        order_lines.order_id,
        order_lines.quantity,
        order_lines.line_amount,
        order_lines.unit_cost,
        order_lines.cost_amount,
        order_lines.gross_margin
    from order_lines
    left join states
        on order_lines.customer_id = states.customer_id
        and cast({{ dbt.date_trunc('month', 'order_lines.ordered_date') }} as date) = states.as_of_date

),

cells as (

    select
        period_start,
        customer_value_class,
        product_category as category,
        count(distinct customer_id) as count_customers,
        count(distinct order_id) as count_orders,
        count(*) as count_order_lines,
        sum(quantity) as count_units,
        sum(line_amount) as revenue,
        sum(case when unit_cost is not null then line_amount else 0 end) as revenue_with_known_cost,
        sum(cost_amount) as cost_amount,
        sum(gross_margin) as gross_margin
    from lines_classified
    group by period_start, customer_value_class, product_category

),

final as (

    select
        period_start,
        cast(
            case
                when {{ dbt.last_day('period_start', 'month') }} > {{ run_date() }} then {{ run_date() }}
                else {{ dbt.last_day('period_start', 'month') }}
            end as date
        ) as period_end,
        customer_value_class,
        category,
        cast(count_customers as {{ dbt.type_bigint() }}) as count_customers,
        cast(count_orders as {{ dbt.type_bigint() }}) as count_orders,
        cast(count_order_lines as {{ dbt.type_bigint() }}) as count_order_lines,
        cast(count_units as {{ dbt.type_bigint() }}) as count_units,
        cast(revenue as numeric(18, 2)) as revenue,
        cast(
            case
                when sum(revenue) over (partition by period_start) > 0
                    then cast(revenue as {{ dbt.type_float() }}) / cast(sum(revenue) over (partition by period_start) as {{ dbt.type_float() }})
            end as {{ dbt.type_float() }}
        ) as revenue_share,
        cast(revenue_with_known_cost as numeric(18, 2)) as revenue_with_known_cost,
        cast(
            case when revenue > 0 then cast(revenue_with_known_cost as {{ dbt.type_float() }}) / cast(revenue as {{ dbt.type_float() }}) end
            as {{ dbt.type_float() }}
        ) as cost_coverage_share,
        cast(cost_amount as numeric(18, 2)) as cost_amount,
        cast(gross_margin as numeric(18, 2)) as gross_margin,
        cast(
            case
                when revenue_with_known_cost > 0
                    then cast(gross_margin as {{ dbt.type_float() }}) / cast(revenue_with_known_cost as {{ dbt.type_float() }})
            end as {{ dbt.type_float() }}
        ) as gross_margin_ratio
    from cells

)

select * from final
