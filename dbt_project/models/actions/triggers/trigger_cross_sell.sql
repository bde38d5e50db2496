{#
    The product viewed most in the last browse_days and not bought since; else the product most often bought in the
    same order as one of the customer's purchases of the last recent_order_days (co-purchase confidence >=
    min_confidence over >= min_pair_orders orders of the last year, the max_suggestions_per_product most frequent
    partners of each product), never bought by the customer. Value: the product price. Browsing is left out while
    the web models do not exist.
#}
{% set sessions = ref('fct_web_sessions') %}
{% set events = ref('int_web_events_sessionized') %}
{% set has_browsing = relation_exists(sessions) and relation_exists(events) %}
{% set browse_days = trigger_param('cross_sell', 'browse_days') %}

with

order_lines as (

    select * from {{ ref('fct_order_lines') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

{% if has_browsing %}

views as (

    select sessions.customer_id, events.product_id, count(*) as count_views, max(events.occurred_at) as last_viewed_at
    from {{ events }} as events
    inner join {{ sessions }} as sessions
        on events.session_id = sessions.session_id
    where events.occurred_date > {{ run_date() }} - {{ browse_days }} and events.occurred_date <= {{ run_date() }}
        and events.event_type = 'product_view' and events.product_id is not null and sessions.customer_id is not null
    group by sessions.customer_id, events.product_id

),

viewed_not_bought as (

    select views.* from views
    where not exists (
        select 1 from order_lines
        where order_lines.customer_id = views.customer_id and order_lines.product_id = views.product_id
            and order_lines.ordered_at > views.last_viewed_at - interval '30 days'
    )

),

{# Read by both_sources below under the same condition; sqlfluff renders the two conditions apart. #}
browsing as (  -- noqa: ST03

    select distinct on (customer_id)
        customer_id, product_id, 1 as source_rank,
        'viewed ' || count_views || ' time(s) in the last ' || {{ browse_days }} || ' days, not bought' as why
    from viewed_not_bought
    order by customer_id, count_views desc, last_viewed_at desc, product_id

),

{% endif %}

year_lines as (

    select distinct order_id, customer_id, product_id, ordered_date from order_lines
    where is_completed and ordered_date > {{ run_date() }} - 365 and ordered_date <= {{ run_date() }}

),

multi_product_lines as (

    select * from year_lines  -- noqa: AL04
    where order_id in (select order_id from year_lines group by order_id having count(*) > 1)

),

pairs as (

    select a.product_id as product_a, b.product_id as product_b, count(*) as count_orders_together
    from multi_product_lines as a
    inner join multi_product_lines as b
        on a.order_id = b.order_id and a.product_id <> b.product_id
    group by a.product_id, b.product_id
    having count(*) >= {{ trigger_param('cross_sell', 'min_pair_orders') }}

),

product_orders as (

    select product_id, count(*) as count_orders from year_lines group by product_id

),

ranked_rules as (

    select
        pairs.product_a,
        pairs.product_b,
        pairs.count_orders_together::double precision / product_orders.count_orders as confidence,
        row_number() over (
            partition by pairs.product_a
            order by pairs.count_orders_together desc, pairs.product_b
        ) as rule_rank
    from pairs
    inner join product_orders
        on pairs.product_a = product_orders.product_id

),

rules as (

    select product_a, product_b, confidence from ranked_rules
    where rule_rank <= {{ trigger_param('cross_sell', 'max_suggestions_per_product') }}

),

recent as (

    select distinct customer_id, product_id from year_lines
    where ordered_date > {{ run_date() }} - {{ trigger_param('cross_sell', 'recent_order_days') }}
        and ordered_date <= {{ run_date() }} - {{ trigger_param('cross_sell', 'min_order_age_days') }}

),

suggestions as (

    select recent.customer_id, rules.product_b as product_id, rules.confidence, recent.product_id as because_of
    from recent
    inner join rules
        on recent.product_id = rules.product_a
    where rules.confidence >= {{ trigger_param('cross_sell', 'min_confidence') }}
        and not exists (
            select 1 from order_lines
            where order_lines.customer_id = recent.customer_id and order_lines.product_id = rules.product_b
        )

),

co_purchase as (

    select distinct on (customer_id)
        customer_id, product_id, 2 as source_rank,
        'often bought together with ' || because_of || ' (confidence ' || to_char(confidence, 'FM0.00') || ')' as why
    from suggestions
    order by customer_id, confidence desc, product_id

),

both_sources as (

    {% if has_browsing %}
    select customer_id, product_id, source_rank, why from browsing
    union all
    {% endif %}
    select customer_id, product_id, source_rank, why from co_purchase

),

best as (

    select distinct on (customer_id) * from both_sources
    order by customer_id, source_rank

),

final as (

    select
        best.customer_id,
        case best.source_rank when 1 then 'browsed_product' else 'co_purchase' end as trigger_code,
        products.product_name || ' (' || products.category || '): ' || best.why as trigger_detail,
        {{ run_date() }} as trigger_date,
        products.price as base_value,
        array[best.product_id] as product_ids,
        null::text as model_reason,
        null::text as model_version
    from best
    inner join products
        on best.product_id = products.product_id

)

select * from final
