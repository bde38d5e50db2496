{#
    Does it work? Per action type x channel, per action type over all channels (channel 'all') and for the whole
    programme (action type 'all'): the response funnel of the treated actions and their attributed revenue, and
    the difference between treated and untreated customers with a 95% confidence interval, next to the KPIs of the
    source paper (retention, satisfaction, average order value, positive reviews, complaints) for both groups.
    Only matured actions count (their whole measurement window lies before run_date).

    Who is compared with whom (comparison_group): an action type's treated customers with its own holdout, who
    went through the same triggers, policy and ranking and were only spared that action type; the whole programme's
    treated customers with the global control group, who were never contacted at all. (The control group is no
    comparison for one action type: without any other action either, its customers' histories, and so the moments
    their actions trigger, drift away from everybody else's.) Both sides count each customer's first matured
    action of the type: later ones depend on how the earlier ones worked (a converted reminder moves the next one).

    Uplift of the retention rate (share with a completed order in the window): p_t - p_u, interval
    p_t - p_u +/- 1.96 * sqrt(p_t (1 - p_t) / n_t + p_u (1 - p_u) / n_u) (normal approximation). Retention saturates
    where most customers would order anyway (a replenishment that is due), so the uplift in completed orders per
    action (incremental orders) and in revenue per action are reported too, with intervals from the sample
    variances the same way. Null where a group is empty.

    Which ranking served each action type (ranking_method, ranking_status, ranking_reason): the decision step's
    record in actions.uplift_models for the latest night up to run_date. Uplift ranks only while the out-of-fold
    Qini's lower 95% bound is above zero; otherwise the Beta-Binomial response rates do, and the reason says why.
#}

{% set comparison_measures %}
        count(*) filter (where is_treated) as count_customers_treated,
        count(*) filter (where not is_treated) as count_customers_untreated,
        avg(case when has_ordered_window then 1.0 else 0.0 end) filter (where is_treated) as retention_treated,
        avg(case when has_ordered_window then 1.0 else 0.0 end) filter (where not is_treated) as retention_untreated,
        avg(count_orders_window) filter (where is_treated) as orders_treated,
        avg(count_orders_window) filter (where not is_treated) as orders_untreated,
        var_samp(count_orders_window) filter (where is_treated) as orders_variance_treated,
        var_samp(count_orders_window) filter (where not is_treated) as orders_variance_untreated,
        avg(revenue_window) filter (where is_treated) as revenue_treated,
        avg(revenue_window) filter (where not is_treated) as revenue_untreated,
        var_samp(revenue_window) filter (where is_treated) as revenue_variance_treated,
        var_samp(revenue_window) filter (where not is_treated) as revenue_variance_untreated,
        sum(revenue_window) filter (where is_treated) / nullif(sum(count_orders_window) filter (where is_treated), 0)
            as average_order_value_treated,
        sum(revenue_window) filter (where not is_treated)
            / nullif(sum(count_orders_window) filter (where not is_treated), 0) as average_order_value_untreated,
        cast(sum(sum_ratings_window) filter (where is_treated) as {{ dbt.type_float() }})
            / nullif(sum(count_reviews_window) filter (where is_treated), 0) as satisfaction_treated,
        cast(sum(sum_ratings_window) filter (where not is_treated) as {{ dbt.type_float() }})
            / nullif(sum(count_reviews_window) filter (where not is_treated), 0) as satisfaction_untreated,
        cast(sum(count_positive_reviews_window) filter (where is_treated) as {{ dbt.type_float() }})
            / nullif(sum(count_reviews_window) filter (where is_treated), 0) as positive_review_share_treated,
        cast(sum(count_positive_reviews_window) filter (where not is_treated) as {{ dbt.type_float() }})
            / nullif(sum(count_reviews_window) filter (where not is_treated), 0) as positive_review_share_untreated,
        avg(case when count_complaints_window > 0 then 1.0 else 0.0 end) filter (where is_treated)
            as complaint_rate_treated,
        avg(case when count_complaints_window > 0 then 1.0 else 0.0 end) filter (where not is_treated)
            as complaint_rate_untreated
{% endset %}

with

matured as (

    select * from {{ ref('action_outcomes') }}
    where is_matured

),

uplift_models as (

    select * from {{ source('actions', 'uplift_models') }}
    where run_date <= {{ run_date() }}

),

ranking_served as (

    select
        action_type,
        {# rows written before the Qini guard have no ranking_method: status trained was the only uplift case #}
        coalesce(ranking_method, case when status = 'trained' then 'uplift_two_model' else 'beta_binomial' end)
            as ranking_method,
        status as ranking_status,
        detail as ranking_reason
    from (
        select
            *,
            row_number() over (partition by action_type order by run_date desc) as night_number
        from uplift_models
    ) as latest
    where night_number = 1

),

first_actions as (

    select * from (
        select
            *,
            row_number() over (partition by customer_id, action_type order by run_date) as action_number
        from matured
    ) as numbered
    where action_number = 1

),

funnel as (

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
        coalesce(sum(revenue_window) filter (where is_treated), 0) as attributed_revenue
    from matured
    group by grouping sets ((action_type, channel), (action_type), ())

),

per_action_type as (

    select
        action_type,
        coalesce(channel, 'all') as channel,
        'holdout' as comparison_group,
{{ comparison_measures }}
    from first_actions
    where comparison_group in ('treated', 'holdout')
    group by grouping sets ((action_type, channel), (action_type))

),

programme as (

    select
        'all' as action_type,
        'all' as channel,
        'control_group' as comparison_group,
{{ comparison_measures }}
    from first_actions
    where comparison_group in ('treated', 'control_group')

),

compared as (

    select
        *,
        1.96 * sqrt(
            {{ safe_divide('retention_treated * (1 - retention_treated)', 'count_customers_treated') }}
            + {{ safe_divide('retention_untreated * (1 - retention_untreated)', 'count_customers_untreated') }}
        ) as retention_margin,
        1.96 * sqrt(
            {{ safe_divide('coalesce(orders_variance_treated, 0)', 'count_customers_treated') }}
            + {{ safe_divide('coalesce(orders_variance_untreated, 0)', 'count_customers_untreated') }}
        ) as orders_margin,
        1.96 * sqrt(
            {{ safe_divide('coalesce(revenue_variance_treated, 0)', 'count_customers_treated') }}
            + {{ safe_divide('coalesce(revenue_variance_untreated, 0)', 'count_customers_untreated') }}
        ) as revenue_margin
    from (
        select * from per_action_type
        union all
        select * from programme
    ) as both_levels

),

final as (

    select
        funnel.action_type || '|' || funnel.channel as effectiveness_id,
        funnel.action_type,
        funnel.channel,
        {{ run_date() }} as measured_through_date,
        funnel.first_run_date,
        funnel.last_run_date,
        cast(funnel.count_treated as {{ dbt.type_bigint() }}) as count_treated,
        cast(funnel.count_control_group as {{ dbt.type_bigint() }}) as count_control_group,
        cast(funnel.count_holdout as {{ dbt.type_bigint() }}) as count_holdout,
        cast(funnel.count_untreated as {{ dbt.type_bigint() }}) as count_untreated,
        cast(funnel.count_sent as {{ dbt.type_bigint() }}) as count_sent,
        cast(funnel.count_delivered as {{ dbt.type_bigint() }}) as count_delivered,
        cast(funnel.count_opened as {{ dbt.type_bigint() }}) as count_opened,
        cast(funnel.count_clicked as {{ dbt.type_bigint() }}) as count_clicked,
        cast(funnel.count_converted as {{ dbt.type_bigint() }}) as count_converted,
        cast(funnel.count_bounced as {{ dbt.type_bigint() }}) as count_bounced,
        cast(funnel.count_unsubscribed as {{ dbt.type_bigint() }}) as count_unsubscribed,
        cast(funnel.count_complained as {{ dbt.type_bigint() }}) as count_complained,
        cast(funnel.count_untreated_responses as {{ dbt.type_bigint() }}) as count_untreated_responses,
        {{ safe_divide('cast(funnel.count_delivered as ' ~ dbt.type_float() ~ ')', 'funnel.count_sent') }} as delivery_rate,
        {{ safe_divide('cast(funnel.count_opened as ' ~ dbt.type_float() ~ ')', 'funnel.count_delivered') }} as open_rate,
        {{ safe_divide('cast(funnel.count_clicked as ' ~ dbt.type_float() ~ ')', 'funnel.count_delivered') }} as click_rate,
        {{ safe_divide('cast(funnel.count_converted as ' ~ dbt.type_float() ~ ')', 'funnel.count_delivered') }}
            as conversion_rate,
        cast(funnel.attributed_revenue as numeric(14, 2)) as attributed_revenue,
        coalesce(compared.comparison_group, case when funnel.action_type = 'all' then 'control_group'
            else 'holdout' end) as comparison_group,
        cast(coalesce(compared.count_customers_treated, 0) as {{ dbt.type_bigint() }}) as count_customers_treated,
        cast(coalesce(compared.count_customers_untreated, 0) as {{ dbt.type_bigint() }}) as count_customers_untreated,
        cast(compared.retention_treated as {{ dbt.type_float() }}) as retention_rate_treated,
        cast(compared.retention_untreated as {{ dbt.type_float() }}) as retention_rate_untreated,
        cast(compared.retention_treated - compared.retention_untreated as {{ dbt.type_float() }})
            as uplift_retention_rate,
        cast(compared.retention_treated - compared.retention_untreated - compared.retention_margin
            as {{ dbt.type_float() }}) as uplift_retention_ci_low,
        cast(compared.retention_treated - compared.retention_untreated + compared.retention_margin
            as {{ dbt.type_float() }}) as uplift_retention_ci_high,
        cast(compared.orders_treated as {{ dbt.type_float() }}) as orders_per_treated,
        cast(compared.orders_untreated as {{ dbt.type_float() }}) as orders_per_untreated,
        cast(compared.orders_treated - compared.orders_untreated as {{ dbt.type_float() }})
            as uplift_orders_per_action,
        cast(compared.orders_treated - compared.orders_untreated - compared.orders_margin
            as {{ dbt.type_float() }}) as uplift_orders_ci_low,
        cast(compared.orders_treated - compared.orders_untreated + compared.orders_margin
            as {{ dbt.type_float() }}) as uplift_orders_ci_high,
        cast(compared.revenue_treated as numeric(14, 2)) as revenue_per_treated,
        cast(compared.revenue_untreated as numeric(14, 2)) as revenue_per_untreated,
        cast(compared.revenue_treated - compared.revenue_untreated as numeric(14, 2)) as uplift_revenue_per_action,
        cast(compared.revenue_treated - compared.revenue_untreated - compared.revenue_margin as numeric(14, 2))
            as uplift_revenue_ci_low,
        cast(compared.revenue_treated - compared.revenue_untreated + compared.revenue_margin as numeric(14, 2))
            as uplift_revenue_ci_high,
        cast(compared.satisfaction_treated as {{ dbt.type_float() }}) as satisfaction_treated,
        cast(compared.satisfaction_untreated as {{ dbt.type_float() }}) as satisfaction_untreated,
        cast(compared.average_order_value_treated as numeric(14, 2)) as average_order_value_treated,
        cast(compared.average_order_value_untreated as numeric(14, 2)) as average_order_value_untreated,
        cast(compared.positive_review_share_treated as {{ dbt.type_float() }}) as positive_review_share_treated,
        cast(compared.positive_review_share_untreated as {{ dbt.type_float() }}) as positive_review_share_untreated,
        cast(compared.complaint_rate_treated as {{ dbt.type_float() }}) as complaint_rate_treated,
        cast(compared.complaint_rate_untreated as {{ dbt.type_float() }}) as complaint_rate_untreated,
        ranking_served.ranking_method,
        ranking_served.ranking_status,
        ranking_served.ranking_reason
    from funnel
    left join compared
        on funnel.action_type = compared.action_type
        and funnel.channel = compared.channel
    left join ranking_served
        on funnel.action_type = ranking_served.action_type

)

select * from final
