"""The SQL of each trigger (what ``triggers.py`` documents and runs): one ``select`` per action type.

Each returns customer_id, trigger_code, trigger_detail, trigger_date, base_value, product_ids, model_reason and
model_version, at most one row per customer. Parameters are the action type's ``trigger`` settings of the contact
policy plus run_date, as_of (= run_date + 1) and decision_at. ``actions_customer_values`` is the temporary table of
90-day values and churn risks that ``triggers.build_customer_values`` fills first.
"""

SERVICE_RECOVERY = """
with window_reviews as (
    select * from core.fct_reviews
    where created_date > %(run_date)s::date - %(lookback_days)s and created_date <= %(run_date)s
),
events as (
    select customer_id, 'complaint' as trigger_code, 1 as seriousness, created_at as event_at,
        created_date as event_date,
        'open complaint of ' || created_date || coalesce(' about order ' || order_id, '') as detail,
        array_remove(array[product_id], null) as product_ids
    from window_reviews
    where is_complaint and is_open_complaint
    union all
    select r.customer_id, 'negative_review', 2, r.created_at, r.created_date,
        'review rated ' || r.rating || '/5 on ' || r.created_date || coalesce(' for ' || p.product_name, ''),
        array_remove(array[r.product_id], null)
    from window_reviews as r
    left join core.dim_products as p
        on r.product_id = p.product_id
    where r.review_kind = 'review' and r.rating <= %(max_rating)s
    union all
    select customer_id, status || '_order', 3, ordered_at, ordered_date,
        'order ' || order_id || ' of ' || ordered_date || ' was ' || status, array[]::text[]
    from core.fct_orders
    where (is_cancelled or is_returned)
        and ordered_date > %(run_date)s::date - %(lookback_days)s and ordered_date <= %(run_date)s
),
unrecovered as (
    select events.* from events
    where not exists (
        select 1 from core.fct_orders as o
        where o.customer_id = events.customer_id and o.is_completed and o.ordered_at > events.event_at
    )
    and not exists (
        select 1 from core.fct_reviews as r
        where r.customer_id = events.customer_id and r.review_kind = 'review' and r.is_positive
            and r.created_at > events.event_at
    )
),
most_serious as (
    select distinct on (customer_id) * from unrecovered
    order by customer_id, seriousness, event_at desc
)
select m.customer_id, m.trigger_code, m.detail as trigger_detail, m.event_date as trigger_date,
    v.value_90d as base_value, m.product_ids, null::text as model_reason, null::text as model_version
from most_serious as m
inner join actions_customer_values as v
    on m.customer_id = v.customer_id
"""

REPLENISHMENT_RULES = """
with latest_category as (
    select customer_id, category, purchased_date, expected_next_purchase_date as due_date,
        'purchase rhythm' as due_source, null::text as model_reason, null::text as model_version
    from intermediate.int_category_purchases_sequenced
    where has_consumable and next_purchased_date is null and expected_next_purchase_date is not null{ml_union}
),
due as (
    select distinct on (customer_id, category) * from latest_category
    order by customer_id, category, (due_source = 'purchase rhythm')
),
due_soon as (
    select distinct on (customer_id) * from due
    where due_date between %(as_of)s::date - %(overdue_days)s and %(as_of)s::date + %(lead_days)s
    order by customer_id, due_date, category
),
last_products as (
    select distinct on (l.customer_id) l.customer_id, l.product_id, l.quantity, l.ordered_date, p.product_name,
        p.price, p.use_cycle_days
    from core.fct_order_lines as l
    inner join due_soon as d
        on l.customer_id = d.customer_id and l.category = d.category
    inner join core.dim_products as p
        on l.product_id = p.product_id
    where l.is_completed and p.is_consumable
    order by l.customer_id, l.ordered_at desc, l.line_number
)
select d.customer_id, 'due_' || d.category as trigger_code,
    lp.product_name || ' (' || d.category || ') x' || lp.quantity || ' bought ' || lp.ordered_date
        || coalesce(', lasts about ' || (lp.quantity * lp.use_cycle_days) || ' days', '')
        || ': due again ' || d.due_date || ' (' || d.due_source || ')' as trigger_detail,
    d.due_date as trigger_date, lp.price * lp.quantity as base_value, array[lp.product_id] as product_ids,
    d.model_reason, d.model_version
from due_soon as d
inner join last_products as lp
    on d.customer_id = lp.customer_id
"""

REPLENISHMENT_ML_UNION = """
    union all
    select s.customer_id, s.category, null::date,
        %(as_of)s::date + cast(round(s.expected_days_to_next_purchase) as integer), 'next_purchase_category model',
        s.reason, s.model_version
    from ml.customer_category_scores as s
    where s.as_of_date = (select max(as_of_date) from ml.customer_category_scores where as_of_date <= %(as_of)s)
        and s.expected_days_to_next_purchase is not null
        and exists (
            select 1 from intermediate.int_category_purchases_sequenced as c
            where c.customer_id = s.customer_id and c.category = s.category and c.has_consumable
                and c.next_purchased_date is null
        )"""

MAINTENANCE = """
with durable_purchases as (
    select l.customer_id, l.product_id, l.ordered_date, p.product_name, p.price, p.service_interval_days,
        l.ordered_date + p.service_interval_days
            * cast(ceil((%(as_of)s::date - l.ordered_date) / p.service_interval_days::numeric) as integer) as due_date
    from core.fct_order_lines as l
    inner join core.dim_products as p
        on l.product_id = p.product_id
    where l.is_completed and not p.is_consumable and p.service_interval_days is not null
        and l.ordered_date < %(as_of)s and l.ordered_date > %(as_of)s::date - %(max_age_days)s
),
due as (
    select distinct on (customer_id) * from durable_purchases
    where due_date <= %(as_of)s::date + %(lead_days)s
    order by customer_id, due_date, product_id
)
select customer_id, 'service_due' as trigger_code,
    product_name || ' bought ' || ordered_date || ': service due ' || due_date || ' (every '
        || service_interval_days || ' days)' as trigger_detail,
    due_date as trigger_date, price as base_value, array[product_id] as product_ids,
    null::text as model_reason, null::text as model_version
from due
"""

CART_RECOVERY = """
with carts as (
    select customer_id, session_id, session_started_at, session_started_date
    from core.fct_web_sessions
    where has_abandoned_cart and customer_id is not null
        and session_started_at <= %(decision_at)s::timestamptz - make_interval(hours => %(min_age_hours)s)
        and session_started_at > %(decision_at)s::timestamptz - make_interval(hours => %(max_age_hours)s)
),
open_carts as (
    select carts.* from carts
    where not exists (
        select 1 from core.fct_orders as o
        where o.customer_id = carts.customer_id and o.ordered_at > carts.session_started_at
    )
    and not exists (
        select 1 from core.fct_web_sessions as s
        where s.customer_id = carts.customer_id and s.is_converted
            and s.session_started_at > carts.session_started_at
    )
),
latest as (
    select distinct on (customer_id) * from open_carts order by customer_id, session_started_at desc
),
items as (
    select latest.customer_id, latest.session_started_at, latest.session_started_date, e.product_id,
        max(e.occurred_at) as added_at
    from latest
    inner join intermediate.int_web_events_sessionized as e
        on latest.session_id = e.session_id
    where e.event_type = 'add_to_cart' and e.product_id is not null
    group by latest.customer_id, latest.session_started_at, latest.session_started_date, e.product_id
)
select items.customer_id, 'abandoned_cart' as trigger_code,
    count(*) || ' item(s) left in the cart on ' || min(items.session_started_date)
        || ': ' || string_agg(p.product_name, ', ' order by items.added_at desc) as trigger_detail,
    min(items.session_started_date) as trigger_date,  -- the store-local day of the session (fct_web_sessions)
    sum(p.price) as base_value, array_agg(items.product_id order by items.added_at desc) as product_ids,
    null::text as model_reason, null::text as model_version
from items
inner join core.dim_products as p
    on items.product_id = p.product_id
group by items.customer_id
"""

CHURN_PREVENTION = """
select c.customer_id, 'high_churn_risk' as trigger_code,
    'churn risk ' || to_char(v.churn_risk, 'FM0.00') || ' (' || v.churn_source || '): no order for '
        || c.days_since_last_order || ' days'
        || coalesce(', usually every ' || round(cast(c.avg_days_between_purchases as numeric)) || ' days', '')
        || ', worth ' || to_char(v.revenue_rate_90d, 'FM999999990.00') || ' per 90 days while active'
        as trigger_detail,
    c.last_order_date as trigger_date, v.churn_risk * v.revenue_rate_90d as base_value, null::text[] as product_ids,
    null::text as model_reason, null::text as model_version
from core.dim_customers as c
inner join actions_customer_values as v
    on c.customer_id = v.customer_id
where c.lifecycle_status in ('active', 'at_risk')
    and v.churn_risk >= %(min_churn_risk)s and v.revenue_rate_90d >= %(min_value_90d)s
"""

WIN_BACK = """
select customer_id, 'lapsed' as trigger_code,
    'lapsed: last order ' || last_order_date || ' (' || days_since_last_order || ' days ago), '
        || to_char(total_revenue, 'FM999999990.00') || ' spent in ' || count_orders || ' order(s)' as trigger_detail,
    last_order_date as trigger_date, total_revenue as base_value, null::text[] as product_ids,
    null::text as model_reason, null::text as model_version
from core.dim_customers
where lifecycle_status = 'lapsed' and total_revenue >= %(min_past_revenue)s
    and days_since_last_order <= %(max_days_since_last_order)s
"""

CROSS_SELL_BROWSING = """
views as (
    select s.customer_id, e.product_id, count(*) as count_views, max(e.occurred_at) as last_viewed_at
    from intermediate.int_web_events_sessionized as e
    inner join core.fct_web_sessions as s
        on e.session_id = s.session_id
    where e.occurred_date > %(run_date)s::date - %(browse_days)s and e.occurred_date <= %(run_date)s
        and e.event_type = 'product_view' and e.product_id is not null and s.customer_id is not null
    group by s.customer_id, e.product_id
),
viewed_not_bought as (
    select views.* from views
    where not exists (
        select 1 from core.fct_order_lines as l
        where l.customer_id = views.customer_id and l.product_id = views.product_id
            and l.ordered_at > views.last_viewed_at - interval '30 days'
    )
),
browsing as (
    select distinct on (customer_id) customer_id, product_id, 1 as source_rank,
        'viewed ' || count_views || ' time(s) in the last ' || %(browse_days)s || ' days, not bought' as why
    from viewed_not_bought
    order by customer_id, count_views desc, last_viewed_at desc, product_id
),"""

CROSS_SELL = """
with {browsing}
year_lines as (
    select distinct order_id, customer_id, product_id, ordered_date from core.fct_order_lines
    where is_completed and ordered_date > %(run_date)s::date - 365 and ordered_date <= %(run_date)s
),
multi_product_lines as (
    select * from year_lines
    where order_id in (select order_id from year_lines group by order_id having count(*) > 1)
),
pairs as (
    select a.product_id as product_a, b.product_id as product_b, count(*) as count_orders_together
    from multi_product_lines as a
    inner join multi_product_lines as b
        on a.order_id = b.order_id and a.product_id <> b.product_id
    group by a.product_id, b.product_id
    having count(*) >= %(min_pair_orders)s
),
product_orders as (
    select product_id, count(*) as count_orders from year_lines group by product_id
),
rules as (
    select product_a, product_b, confidence from (
        select pairs.product_a, pairs.product_b,
            pairs.count_orders_together::double precision / product_orders.count_orders as confidence,
            row_number() over (
                partition by pairs.product_a
                order by pairs.count_orders_together desc, pairs.product_b
            ) as rule_rank
        from pairs
        inner join product_orders
            on pairs.product_a = product_orders.product_id
    ) as ranked
    where rule_rank <= %(max_suggestions_per_product)s
),
recent as (
    select distinct customer_id, product_id from year_lines
    where ordered_date > %(run_date)s::date - %(recent_order_days)s
        and ordered_date <= %(run_date)s::date - %(min_order_age_days)s
),
suggestions as (
    select recent.customer_id, rules.product_b as product_id, rules.confidence, recent.product_id as because_of
    from recent
    inner join rules
        on recent.product_id = rules.product_a
    where rules.confidence >= %(min_confidence)s
        and not exists (
            select 1 from core.fct_order_lines as l
            where l.customer_id = recent.customer_id and l.product_id = rules.product_b
        )
),
co_purchase as (
    select distinct on (customer_id) customer_id, product_id, 2 as source_rank,
        'often bought together with ' || because_of || ' (confidence ' || to_char(confidence, 'FM0.00') || ')' as why
    from suggestions
    order by customer_id, confidence desc, product_id
),
best as (
    select distinct on (customer_id) * from (
        {browsing_select}select customer_id, product_id, source_rank, why from co_purchase
    ) as both_sources
    order by customer_id, source_rank
)
select best.customer_id, case best.source_rank when 1 then 'browsed_product' else 'co_purchase' end as trigger_code,
    p.product_name || ' (' || p.category || '): ' || best.why as trigger_detail, %(run_date)s::date as trigger_date,
    p.price as base_value, array[best.product_id] as product_ids, null::text as model_reason,
    null::text as model_version
from best
inner join core.dim_products as p
    on best.product_id = p.product_id
"""

VIP_RECOGNITION = """
select distinct on (o.customer_id) o.customer_id, 'milestone_' || o.purchase_number as trigger_code,
    o.purchase_number || 'th completed order on ' || o.ordered_date || '; a top customer (Pareto class), '
        || to_char(c.total_revenue, 'FM999999990.00') || ' spent' as trigger_detail,
    o.ordered_date as trigger_date, v.value_90d as base_value, null::text[] as product_ids,
    null::text as model_reason, null::text as model_version
from core.fct_orders as o
inner join core.dim_customers as c
    on o.customer_id = c.customer_id
inner join actions_customer_values as v
    on o.customer_id = v.customer_id
where o.is_completed and o.purchase_number = any(%(milestones)s)
    and o.ordered_date > %(run_date)s::date - %(lookback_days)s and o.ordered_date <= %(run_date)s
    and c.pareto_class = 'pareto'
order by o.customer_id, o.purchase_number desc
"""

# 29 February counts on 28 February in years without one.
_SAME_DAY = """(
    to_char({day}, 'MM-DD') = to_char(%(as_of)s::date, 'MM-DD')
    or (to_char({day}, 'MM-DD') = '02-29' and to_char(%(as_of)s::date, 'MM-DD') = '02-28'
        and to_char(%(as_of)s::date + 1, 'MM-DD') = '03-01')
)"""

SPECIAL_DATE = f"""
with dates as (
    select customer_id, 'birthday' as trigger_code, 1 as date_rank, 'birthday on ' || %(as_of)s::date as detail,
        average_order_value
    from core.dim_customers
    inner join restricted.dim_customer_contacts using (customer_id)
    where %(birthdays)s and birth_date is not null and count_orders > 0 and {_SAME_DAY.format(day='birth_date')}
    union all
    select customer_id, 'first_order_anniversary', 2,
        extract(year from age(%(as_of)s::date, first_order_date)) || ' year(s) since the first order on '
            || first_order_date,
        average_order_value
    from core.dim_customers
    where %(first_order_anniversaries)s and first_order_date is not null
        and first_order_date <= %(as_of)s::date - 365 and {_SAME_DAY.format(day='first_order_date')}
)
select distinct on (customer_id) customer_id, trigger_code, detail as trigger_detail, %(as_of)s::date as trigger_date,
    average_order_value as base_value, null::text[] as product_ids, null::text as model_reason,
    null::text as model_version
from dates
order by customer_id, date_rank
"""

FEEDBACK_REQUEST = """
with orders as (
    select distinct on (customer_id) customer_id, order_id, ordered_date, count_units
    from core.fct_orders
    where is_completed and ordered_date = %(as_of)s::date - %(days_after)s
        and not exists (select 1 from core.fct_reviews as r where r.order_id = fct_orders.order_id)
    order by customer_id, ordered_at desc
),
lines as (
    select l.order_id, array_agg(l.product_id order by l.line_number) as product_ids
    from core.fct_order_lines as l
    inner join orders
        on l.order_id = orders.order_id
    group by l.order_id
)
select orders.customer_id, 'recent_order' as trigger_code,
    'order ' || orders.order_id || ' of ' || orders.ordered_date || ' (' || orders.count_units
        || ' item(s)) not reviewed yet' as trigger_detail,
    orders.ordered_date as trigger_date, 0 as base_value, lines.product_ids,
    null::text as model_reason, null::text as model_version
from orders
left join lines
    on orders.order_id = lines.order_id
"""
