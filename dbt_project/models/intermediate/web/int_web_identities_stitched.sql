{#
    Incremental (delete+insert on anonymous_id): a visitor's identities change only with the visitor's own logins
    and purchases, so a night recomputes, from all their history, the visitors with a login or a purchase among the
    events (re)sessionised tonight, and the visitors whose purchase in the last late_data_days days names an
    order delivered in that time (an order exported after its confirmation page). Older late events reach this
    table with the next full refresh, as they reach int_web_events_sessionized.
#}
{{
    config(
        materialized='incremental',
        unique_key='anonymous_id',
        indexes=[
            {'columns': ['anonymous_id']},
        ],
    )
}}

with

{% if is_incremental() %}

visitors_reidentified as (

    select anonymous_id from {{ ref('int_web_events_sessionized') }}
    where sessionized_run_date = {{ run_date() }}
        and occurred_date <= {{ run_date() }}
        and (customer_id is not null or purchased_order_id is not null)

    union

    select anonymous_id from {{ ref('int_web_events_sessionized') }}
    where occurred_date >= {{ dbt.dateadd('day', -1 * var('late_data_days'), run_date()) }}
        and occurred_date <= {{ run_date() }}
        and purchased_order_id in (
            select order_id from {{ ref('stg_shop__orders') }}
            where partition_date >= {{ dbt.dateadd('day', -1 * var('late_data_days'), run_date()) }}
        )

),

{% endif %}

events as (

    select * from {{ ref('int_web_events_sessionized') }}
    where occurred_date <= {{ run_date() }}
        and (customer_id is not null or purchased_order_id is not null)
    {% if is_incremental() %}
        and anonymous_id in (select visitors_reidentified.anonymous_id from visitors_reidentified)
    {% endif %}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

identifications as (

    {# A visitor identifies as a customer by logging in (every later event of the session carries the id) ... #}
    select
        anonymous_id,
        customer_id,
        occurred_at as identified_at,
        event_id,
        'login' as identified_by
    from events
    where customer_id is not null

    union all

    {# ... or by buying: the purchase confirmation names the order, and the order names its customer. #}
    select
        events.anonymous_id,
        orders.customer_id,
        events.occurred_at as identified_at,
        events.event_id,
        'purchase' as identified_by
    from events
    inner join orders
        on events.purchased_order_id = orders.order_id
    where events.customer_id is null

),

changes_flagged as (

    select
        *,
        case
            when customer_id = lag(customer_id) over (
                partition by anonymous_id order by identified_at, event_id
            ) then 0
            else 1
        end as is_new_customer
    from identifications

),

runs_numbered as (

    select
        *,
        sum(is_new_customer) over (
            partition by anonymous_id
            order by identified_at, event_id
            rows between unbounded preceding and current row
        ) as run_number
    from changes_flagged

),

runs as (

    {# Consecutive identifications of the same customer form one run: the device belonged to them meanwhile. #}
    select
        anonymous_id,
        run_number,
        customer_id,
        min(identified_at) as identified_from,
        max(identified_at) as last_identified_at,
        count(*) as count_identifications,
        max(case when identified_by = 'login' then 1 else 0 end) = 1 as has_login
    from runs_numbered
    group by anonymous_id, run_number, customer_id

),

final as (

    select
        {{ dbt.concat(["anonymous_id", "'|'", dbt.cast("run_number", dbt.type_string())]) }} as identity_id,
        anonymous_id,
        customer_id,
        run_number as identity_number,
        case when has_login then 'login' else 'purchase' end as identified_by,
        identified_from,
        last_identified_at,
        lead(identified_from) over (partition by anonymous_id order by run_number) as identified_until,
        lead(identified_from) over (partition by anonymous_id order by run_number) is null as is_current,
        count_identifications
    from runs

)

select * from final
