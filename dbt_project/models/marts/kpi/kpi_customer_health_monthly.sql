with

measures as (

    {# period_start <= run_date: a re-run of an earlier day shows no later periods a later run left behind #}
    select * from {{ ref('int_kpi_measures_aggregated') }}
    where period_start <= {{ run_date() }}
        and grain = 'month'

),

final as (

    select
        period_start,
        period_end,
        dimension,
        dimension_value,
        cast(count_customers as {{ dbt.type_bigint() }}) as count_customers,
        cast(count_customers_previous_period as {{ dbt.type_bigint() }}) as count_customers_previous_period,
        cast(count_retained_customers as {{ dbt.type_bigint() }}) as count_retained_customers,
        cast(count_new_customers as {{ dbt.type_bigint() }}) as count_new_customers,
        cast(retention_rate as {{ dbt.type_float() }}) as retention_rate,
        cast(count_orders_placed as {{ dbt.type_bigint() }}) as count_orders_placed,
        cast(count_orders as {{ dbt.type_bigint() }}) as count_orders,
        cast(count_cancelled_orders as {{ dbt.type_bigint() }}) as count_cancelled_orders,
        cast(count_returned_orders as {{ dbt.type_bigint() }}) as count_returned_orders,
        cast(revenue as numeric(18, 2)) as revenue,
        cast(average_order_value as {{ dbt.type_float() }}) as average_order_value,
        cast(count_satisfied_customers as {{ dbt.type_bigint() }}) as count_satisfied_customers,
        cast(count_rated_customers as {{ dbt.type_bigint() }}) as count_rated_customers,
        cast(satisfaction_rate as {{ dbt.type_float() }}) as satisfaction_rate,
        cast(rated_satisfaction_rate as {{ dbt.type_float() }}) as rated_satisfaction_rate,
        cast(count_reviews as {{ dbt.type_bigint() }}) as count_reviews,
        cast(count_positive_reviews as {{ dbt.type_bigint() }}) as count_positive_reviews,
        cast(positive_review_share as {{ dbt.type_float() }}) as positive_review_share,
        cast(count_complaints as {{ dbt.type_bigint() }}) as count_complaints,
        cast(count_complaining_customers as {{ dbt.type_bigint() }}) as count_complaining_customers,
        cast(complaint_rate as {{ dbt.type_float() }}) as complaint_rate,
        cast(complaints_per_customer as {{ dbt.type_float() }}) as complaints_per_customer,
        cast(count_buyers as {{ dbt.type_bigint() }}) as count_buyers,
        cast(count_repeat_buyers as {{ dbt.type_bigint() }}) as count_repeat_buyers,
        cast(repurchase_rate as {{ dbt.type_float() }}) as repurchase_rate,
        cast(count_purchase_intervals as {{ dbt.type_bigint() }}) as count_purchase_intervals,
        cast(avg_days_between_purchases as {{ dbt.type_float() }}) as avg_days_between_purchases,
        cast(count_loyal_customers as {{ dbt.type_bigint() }}) as count_loyal_customers,
        cast(loyal_customer_share as {{ dbt.type_float() }}) as loyal_customer_share,
        cast(count_lifecycle_active as {{ dbt.type_bigint() }}) as count_lifecycle_active,
        cast(count_lifecycle_at_risk as {{ dbt.type_bigint() }}) as count_lifecycle_at_risk,
        cast(count_lifecycle_lapsed as {{ dbt.type_bigint() }}) as count_lifecycle_lapsed,
        cast(pareto_revenue as numeric(18, 2)) as pareto_revenue,
        cast(pareto_revenue_share as {{ dbt.type_float() }}) as pareto_revenue_share
    from measures

)

select * from final
