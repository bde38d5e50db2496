{#
    Does it work? Per action type x channel, per action type over all channels, and over everything (rows 'all'):
    the response funnel of the treated actions, their attributed revenue, and the difference between treated
    customers and the untreated ones (global control group + the action type's holdout, which went through the same
    triggers, policy and ranking but were never contacted), with a 95% confidence interval, next to the KPIs of
    the source paper (retention, satisfaction, average order value, positive reviews, complaints) for both groups.
    Only matured actions count (their whole measurement window lies before run_date).

    Uplift of the retention rate (share with a completed order in the window): p_t - p_u, interval
    p_t - p_u +/- 1.96 * sqrt(p_t (1 - p_t) / n_t + p_u (1 - p_u) / n_u) (normal approximation); the revenue uplift
    per action uses the sample variances the same way. Null where a group is empty.
#}
with

outcomes as (

    select * from {{ ref('action_outcomes') }}
    where is_matured

),

grouped as (

    select
        coalesce(action_type, 'all') as action_type,
        coalesce(channel, 'all') as channel,
        min(run_date) as first_run_date,
        max(run_date) as last_run_date,
        count(*) filter (where is_treated) as count_treated,
        count(*) filter (where comparison_group = 'control_group') as count_control_group,
        count(*) filter (where comparison_group = 'holdout') as count_holdout,
        count(*) filter (where not is_treated) as count_untreated,
        count(*) filter (where is_treated and has_sent) as count_sent,
        count(*) filter (where is_treated and has_delivered) as count_delivered,
        count(*) filter (where is_treated and has_opened) as count_opened,
        count(*) filter (where is_treated and has_clicked) as count_clicked,
        count(*) filter (where is_treated and has_converted) as count_converted,
        count(*) filter (where is_treated and has_bounced) as count_bounced,
        count(*) filter (where is_treated and has_unsubscribed) as count_unsubscribed,
        count(*) filter (where is_treated and has_complained) as count_complained,
        coalesce(sum(count_responses) filter (where not is_treated), 0) as count_untreated_responses,
        coalesce(sum(revenue_window) filter (where is_treated), 0) as attributed_revenue,
        avg(case when has_ordered_window then 1.0 else 0.0 end) filter (where is_treated) as retention_treated,
        avg(case when has_ordered_window then 1.0 else 0.0 end) filter (where not is_treated) as retention_untreated,
        avg(revenue_window) filter (where is_treated) as revenue_treated,
        avg(revenue_window) filter (where not is_treated) as revenue_untreated,
        var_samp(revenue_window) filter (where is_treated) as revenue_variance_treated,
        var_samp(revenue_window) filter (where not is_treated) as revenue_variance_untreated,
        sum(revenue_window) filter (where is_treated) as revenue_sum_treated,
        sum(count_orders_window) filter (where is_treated) as orders_treated,
        sum(revenue_window) filter (where not is_treated) as revenue_sum_untreated,
        sum(count_orders_window) filter (where not is_treated) as orders_untreated,
        sum(count_reviews_window) filter (where is_treated) as reviews_treated,
        sum(count_reviews_window) filter (where not is_treated) as reviews_untreated,
        sum(sum_ratings_window) filter (where is_treated) as ratings_treated,
        sum(sum_ratings_window) filter (where not is_treated) as ratings_untreated,
        sum(count_positive_reviews_window) filter (where is_treated) as positive_reviews_treated,
        sum(count_positive_reviews_window) filter (where not is_treated) as positive_reviews_untreated,
        avg(case when count_complaints_window > 0 then 1.0 else 0.0 end) filter (where is_treated)
            as complaint_rate_treated,
        avg(case when count_complaints_window > 0 then 1.0 else 0.0 end) filter (where not is_treated)
            as complaint_rate_untreated
    from outcomes
    group by grouping sets ((action_type, channel), (action_type), ())

),

compared as (

    select
        *,
        retention_treated - retention_untreated as uplift_retention,
        1.96 * sqrt(
            retention_treated * (1 - retention_treated) / nullif(count_treated, 0)
            + retention_untreated * (1 - retention_untreated) / nullif(count_untreated, 0)
        ) as uplift_retention_margin,
        revenue_treated - revenue_untreated as uplift_revenue,
        1.96 * sqrt(
            coalesce(revenue_variance_treated, 0) / nullif(count_treated, 0)
            + coalesce(revenue_variance_untreated, 0) / nullif(count_untreated, 0)
        ) as uplift_revenue_margin
    from grouped

),

final as (

    select
        action_type || '|' || channel as effectiveness_id,
        action_type,
        channel,
        {{ run_date() }} as measured_through_date,
        first_run_date,
        last_run_date,
        cast(count_treated as {{ dbt.type_bigint() }}) as count_treated,
        cast(count_control_group as {{ dbt.type_bigint() }}) as count_control_group,
        cast(count_holdout as {{ dbt.type_bigint() }}) as count_holdout,
        cast(count_untreated as {{ dbt.type_bigint() }}) as count_untreated,
        cast(count_sent as {{ dbt.type_bigint() }}) as count_sent,
        cast(count_delivered as {{ dbt.type_bigint() }}) as count_delivered,
        cast(count_opened as {{ dbt.type_bigint() }}) as count_opened,
        cast(count_clicked as {{ dbt.type_bigint() }}) as count_clicked,
        cast(count_converted as {{ dbt.type_bigint() }}) as count_converted,
        cast(count_bounced as {{ dbt.type_bigint() }}) as count_bounced,
        cast(count_unsubscribed as {{ dbt.type_bigint() }}) as count_unsubscribed,
        cast(count_complained as {{ dbt.type_bigint() }}) as count_complained,
        cast(count_untreated_responses as {{ dbt.type_bigint() }}) as count_untreated_responses,
        cast(count_delivered as {{ dbt.type_float() }}) / nullif(count_sent, 0) as delivery_rate,
        cast(count_opened as {{ dbt.type_float() }}) / nullif(count_delivered, 0) as open_rate,
        cast(count_clicked as {{ dbt.type_float() }}) / nullif(count_delivered, 0) as click_rate,
        cast(count_converted as {{ dbt.type_float() }}) / nullif(count_delivered, 0) as conversion_rate,
        cast(attributed_revenue as numeric(14, 2)) as attributed_revenue,
        cast(retention_treated as {{ dbt.type_float() }}) as retention_rate_treated,
        cast(retention_untreated as {{ dbt.type_float() }}) as retention_rate_untreated,
        cast(uplift_retention as {{ dbt.type_float() }}) as uplift_retention_rate,
        cast(uplift_retention - uplift_retention_margin as {{ dbt.type_float() }}) as uplift_retention_ci_low,
        cast(uplift_retention + uplift_retention_margin as {{ dbt.type_float() }}) as uplift_retention_ci_high,
        cast(revenue_treated as numeric(14, 2)) as revenue_per_treated,
        cast(revenue_untreated as numeric(14, 2)) as revenue_per_untreated,
        cast(uplift_revenue as numeric(14, 2)) as uplift_revenue_per_action,
        cast(uplift_revenue - uplift_revenue_margin as numeric(14, 2)) as uplift_revenue_ci_low,
        cast(uplift_revenue + uplift_revenue_margin as numeric(14, 2)) as uplift_revenue_ci_high,
        cast(cast(ratings_treated as {{ dbt.type_float() }}) / nullif(reviews_treated, 0) as {{ dbt.type_float() }})
            as satisfaction_treated,
        cast(cast(ratings_untreated as {{ dbt.type_float() }}) / nullif(reviews_untreated, 0)
            as {{ dbt.type_float() }}) as satisfaction_untreated,
        cast(revenue_sum_treated / nullif(orders_treated, 0) as numeric(14, 2)) as average_order_value_treated,
        cast(revenue_sum_untreated / nullif(orders_untreated, 0) as numeric(14, 2)) as average_order_value_untreated,
        cast(cast(positive_reviews_treated as {{ dbt.type_float() }}) / nullif(reviews_treated, 0)
            as {{ dbt.type_float() }}) as positive_review_share_treated,
        cast(cast(positive_reviews_untreated as {{ dbt.type_float() }}) / nullif(reviews_untreated, 0)
            as {{ dbt.type_float() }}) as positive_review_share_untreated,
        cast(complaint_rate_treated as {{ dbt.type_float() }}) as complaint_rate_treated,
        cast(complaint_rate_untreated as {{ dbt.type_float() }}) as complaint_rate_untreated
    from compared

)

select * from final
