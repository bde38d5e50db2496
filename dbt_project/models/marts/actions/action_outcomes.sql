{#
    One row per action that was sent (treated) or would have been sent (global control group and the action
    type's holdout), with what followed within its measurement window: the channel's responses and the
    customer's completed orders, revenue, reviews and complaints from run_date + 1 to run_date + window_days.
    Treated means selected on a night that was published. Counts only include data up to the var run_date;
    is_matured says whether the whole window has passed.

    Incremental: each night recomputes the actions of the last actions_lookback_days run dates (their windows
    are still filling up) and keeps older rows; a full refresh gives the same result when no data older than the
    look-back arrived late.
#}
{{
    config(
        materialized='incremental',
        unique_key='action_id',
    )
}}

with

decisions as (

    select * from {{ source('actions', 'decisions') }}
    where outcome in ('selected', 'control_group', 'holdout')
        and channel is not null
        and run_date < {{ run_date() }}
    {% if is_incremental() %}
        and run_date >= {{ dbt.dateadd('day', -1 * var('actions_lookback_days'), run_date()) }}
    {% endif %}

),

publications as (

    select * from {{ source('actions', 'publications') }}

),

responses as (

    select * from {{ ref('stg_outbound__action_responses') }}
    where occurred_date <= {{ run_date() }}

),

orders as (

    select * from {{ ref('fct_orders') }}
    where is_completed

),

reviews as (

    select * from {{ ref('fct_reviews') }}

),

measured as (

    {# Selected decisions of an unpublished night were never sent: they are neither treated nor untreated. #}
    select
        decisions.*,
        case when decisions.outcome = 'selected' then 'treated' else decisions.outcome end as comparison_group,
        cast({{ dbt.dateadd('day', 1, 'decisions.run_date') }} as date) as window_start_date,
        cast({{ dbt.dateadd('day', 'decisions.window_days', 'decisions.run_date') }} as date) as window_end_date
    from decisions
    left join publications
        on decisions.run_date = publications.run_date
    where decisions.outcome <> 'selected' or publications.run_date is not null

),

response_flags as (

    select
        action_id,
        bool_or(response_status = 'sent') as has_sent,
        bool_or(response_status = 'delivered') as has_delivered,
        bool_or(response_status = 'opened') as has_opened,
        bool_or(response_status = 'clicked') as has_clicked,
        bool_or(response_status = 'converted') as has_converted,
        bool_or(response_status = 'bounced') as has_bounced,
        bool_or(response_status = 'unsubscribed') as has_unsubscribed,
        bool_or(response_status = 'complained') as has_complained,
        count(*) as count_responses
    from responses
    group by action_id

),

window_orders as (

    select
        measured.action_id,
        count(*) as count_orders,
        sum(orders.revenue) as revenue
    from measured
    inner join orders
        on measured.customer_id = orders.customer_id
        and orders.ordered_date >= measured.window_start_date
        and orders.ordered_date <= measured.window_end_date
    group by measured.action_id

),

window_reviews as (

    select
        measured.action_id,
        sum(case when reviews.review_kind = 'review' then 1 else 0 end) as count_reviews,
        sum(case when reviews.review_kind = 'review' then reviews.rating else 0 end) as sum_ratings,
        sum(case when reviews.review_kind = 'review' and reviews.is_positive then 1 else 0 end)
            as count_positive_reviews,
        sum(case when reviews.is_complaint then 1 else 0 end) as count_complaints
    from measured
    inner join reviews
        on measured.customer_id = reviews.customer_id
        and reviews.created_date >= measured.window_start_date
        and reviews.created_date <= measured.window_end_date
    group by measured.action_id

),

final as (

    select
        measured.action_id,
        measured.run_date,
        measured.customer_id,
        measured.action_type,
        measured.channel,
        measured.segment,
        measured.comparison_group,
        measured.comparison_group = 'treated' as is_treated,
        measured.window_days,
        measured.window_start_date,
        measured.window_end_date,
        measured.window_end_date <= {{ run_date() }} as is_matured,
        cast(measured.value_at_stake as numeric(14, 2)) as value_at_stake,
        cast(measured.expected_value as numeric(14, 4)) as expected_value,
        measured.ranking_method,
        coalesce(response_flags.has_sent, false) as has_sent,
        coalesce(response_flags.has_delivered, false) as has_delivered,
        coalesce(response_flags.has_opened, false) as has_opened,
        coalesce(response_flags.has_clicked, false) as has_clicked,
        coalesce(response_flags.has_converted, false) as has_converted,
        coalesce(response_flags.has_bounced, false) as has_bounced,
        coalesce(response_flags.has_unsubscribed, false) as has_unsubscribed,
        coalesce(response_flags.has_complained, false) as has_complained,
        cast(coalesce(response_flags.count_responses, 0) as {{ dbt.type_bigint() }}) as count_responses,
        cast(coalesce(window_orders.count_orders, 0) as {{ dbt.type_bigint() }}) as count_orders_window,
        cast(coalesce(window_orders.revenue, 0) as numeric(14, 2)) as revenue_window,
        coalesce(window_orders.count_orders, 0) > 0 as has_ordered_window,
        cast(coalesce(window_reviews.count_reviews, 0) as {{ dbt.type_bigint() }}) as count_reviews_window,
        cast(coalesce(window_reviews.sum_ratings, 0) as {{ dbt.type_bigint() }}) as sum_ratings_window,
        cast(coalesce(window_reviews.count_positive_reviews, 0) as {{ dbt.type_bigint() }})
            as count_positive_reviews_window,
        cast(coalesce(window_reviews.count_complaints, 0) as {{ dbt.type_bigint() }}) as count_complaints_window
    from measured
    left join response_flags
        on measured.action_id = response_flags.action_id
    left join window_orders
        on measured.action_id = window_orders.action_id
    left join window_reviews
        on measured.action_id = window_reviews.action_id

)

select * from final
