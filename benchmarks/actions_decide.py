"""How long the nightly decision step takes for a large retailer (default 1,000,000 customers) on this machine.

    .venv/bin/python benchmarks/actions_decide.py [--customers 1000000] [--keep]

Generating a million customers with the synthetic retailer and building the whole warehouse with dbt would take
far longer than the step being measured, so the marts the decision step reads are generated directly in SQL
(``generate_series``, seeded) with the columns and rough shape of the real ones: ~3 orders, ~4.5 order lines
0.15 reviews per customer over a year, a week of web sessions for a fifth of the customers, the intermediate
purchase rhythm per category and ML scores for every customer. The figures printed are the decision step (triggers
in SQL, priority, contact policy, writing actions.decisions), the actions gate and the publish (tables + files),
each timed on its own; nothing asserts a timing. The database ``crm_bench_actions`` on the warehouse server is
dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg

from proactive_crm.config import PROJECT_ROOT, load_settings
from proactive_crm.warehouse import recreate_database, warehouse_url, with_database

RUN_DATE = date(2026, 10, 31)
CATEGORIES = ("coffee", "tea", "pet_food", "vitamins", "cleaning", "water_filters", "printer_ink", "diapers",
              "bikes", "coffee_machines", "printers", "vacuum_cleaners")
SEGMENTS = ("champions", "loyal_customers", "potential_loyalists", "new_customers", "promising", "need_attention",
            "about_to_sleep", "cannot_lose_them", "at_risk", "hibernating")
ZONES = ("Europe/Berlin",) * 8 + ("Europe/Vienna", "Europe/Paris", "Europe/London", "America/New_York")


def _array(values: tuple[str, ...]) -> str:
    return "array[" + ", ".join(f"'{v}'" for v in values) + "]"


def generate_sql(customers: int) -> list[tuple[str, str]]:
    r = f"date '{RUN_DATE.isoformat()}'"
    return [
        ("schemas", "create schema core; create schema intermediate; create schema ml; select setseed(0.42)"),
        ("dim_products", f"""
            create table core.dim_products as
            select 'P' || lpad(i::text, 5, '0') as product_id, 'Product ' || i as product_name,
                ({_array(CATEGORIES)})[1 + i % 12] as category,
                case when i % 12 < 8 then round((3 + random() * 40)::numeric, 2)
                    else round((90 + random() * 1400)::numeric, 2) end as price,
                i % 12 < 8 as is_consumable,
                case when i % 12 < 8 then 10 + (i * 7) % 50 end as use_cycle_days,
                case when i % 12 >= 8 then 180 + (i * 13) % 300 end as service_interval_days
            from generate_series(1, 300) as i"""),
        ("fct_orders", f"""
            create table core.fct_orders as
            with counts as (
                select 'C' || lpad(i::text, 7, '0') as customer_id, floor(random() * 7)::int as n
                from generate_series(1, {customers}) as i
            ),
            raw_orders as (
                select counts.customer_id, k, {r} - floor(random() * 365)::int as ordered_date, random() as fate
                from counts cross join lateral generate_series(1, counts.n) as k
            )
            select customer_id || '-' || k as order_id, customer_id,
                (ordered_date + interval '10 hours' + random() * interval '10 hours')::timestamptz as ordered_at,
                ordered_date,
                case when fate < 0.03 then 'cancelled' when fate < 0.07 then 'returned' else 'completed' end as status,
                fate >= 0.07 as is_completed, fate < 0.03 as is_cancelled, fate >= 0.03 and fate < 0.07 as is_returned,
                row_number() over (partition by customer_id order by ordered_date, k) as purchase_number,
                1 + floor(random() * 3)::bigint as count_units,
                round((10 + random() * 120)::numeric, 2) as revenue
            from raw_orders"""),
        ("fct_order_lines", """
            create table core.fct_order_lines as
            with lines as (
                select o.order_id, o.customer_id, o.ordered_at, o.ordered_date, o.is_completed, l as line_number,
                    'P' || lpad((1 + floor(random() * 300))::int::text, 5, '0') as product_id,
                    1 + floor(random() * 2)::int as quantity
                from core.fct_orders as o
                cross join lateral generate_series(1, 1 + (random() < 0.5 and o.order_id <> '')::int) as l
            )
            select lines.*, p.category, p.price * lines.quantity as line_amount
            from lines inner join core.dim_products as p on lines.product_id = p.product_id"""),
        ("int_category_purchases_sequenced", """
            create table intermediate.int_category_purchases_sequenced as
            select l.customer_id, l.category, max(l.ordered_date) as purchased_date, true as has_consumable,
                null::date as next_purchased_date,
                max(l.ordered_date) + max(p.use_cycle_days * l.quantity) as expected_next_purchase_date
            from core.fct_order_lines as l
            inner join core.dim_products as p on l.product_id = p.product_id
            where l.is_completed and p.is_consumable
            group by l.customer_id, l.category"""),
        ("dim_customers", f"""
            create table core.dim_customers as
            with stats as (
                select customer_id, count(*) filter (where is_completed) as count_orders,
                    coalesce(sum(revenue) filter (where is_completed), 0) as total_revenue,
                    min(ordered_date) filter (where is_completed) as first_order_date,
                    max(ordered_date) filter (where is_completed) as last_order_date
                from core.fct_orders group by customer_id
            )
            select 'C' || lpad(i::text, 7, '0') as customer_id, 'Kunde' as first_name,
                case when random() < 0.9 then 'kunde' || i || '@example.de' end as email,
                case when random() < 0.6 then '+49151' || lpad((i % 100000000)::text, 8, '0') end as phone,
                case when random() < 0.75 then date '1950-01-01' + floor(random() * 20000)::int end as birth_date,
                ({_array(ZONES)})[1 + floor(random() * 12)::int] as time_zone,
                random() < 0.7 as has_email_consent, random() < 0.4 as has_sms_consent,
                s.first_order_date, s.last_order_date, coalesce(s.count_orders, 0) as count_orders,
                coalesce(s.total_revenue, 0)::numeric(14, 2) as total_revenue,
                (s.total_revenue / nullif(s.count_orders, 0))::numeric(14, 2) as average_order_value,
                ({r} - s.last_order_date) as days_since_last_order,
                case when s.count_orders > 1 then (s.last_order_date - s.first_order_date)::float / (s.count_orders - 1)
                    end as avg_days_between_purchases,
                case when s.count_orders is null or s.count_orders = 0 then 'prospect'
                    else ({_array(SEGMENTS)})[1 + floor(random() * 10)::int] end as rfm_segment,
                case when s.total_revenue > 300 then 'pareto' when s.total_revenue > 120 then 'middle'
                    else 'tail' end as pareto_class,
                case when s.last_order_date is null then 'prospect' when {r} - s.last_order_date <= 90 then 'active'
                    when {r} - s.last_order_date <= 180 then 'at_risk' else 'lapsed' end as lifecycle_status,
                case when random() < 0.8 then 7 + floor(random() * 15)::int end as preferred_contact_hour
            from generate_series(1, {customers}) as i
            left join stats as s on s.customer_id = 'C' || lpad(i::text, 7, '0')"""),
        ("fct_reviews", f"""
            create table core.fct_reviews as
            with picked as (
                select customer_id, order_id, ordered_date, 1 + floor(random() * 5)::int as rating,
                    random() as coin, row_number() over () as i
                from core.fct_orders where random() < 0.05 and ordered_date + 5 <= {r}
            )
            select 'R' || picked.i as review_id, picked.customer_id, picked.order_id, l.product_id, picked.rating,
                case when picked.rating = 1 and picked.coin < 0.5 then 'complaint' else 'review' end as review_kind,
                picked.rating = 1 and picked.coin < 0.5 as is_complaint, true as is_open_complaint,
                picked.rating >= 4 as is_positive, (picked.ordered_date + 5)::timestamptz as created_at,
                picked.ordered_date + 5 as created_date
            from picked
            inner join core.fct_order_lines as l on l.order_id = picked.order_id and l.line_number = 1"""),
        ("fct_web_sessions", f"""
            create table core.fct_web_sessions as
            select 'S' || i as session_id, 'C' || lpad((1 + floor(random() * {customers}))::int::text, 7, '0')
                    as customer_id,
                ({r} - floor(random() * 10)::int + interval '8 hours' + random() * interval '14 hours')::timestamptz
                    as session_started_at,
                random() < 0.3 as has_abandoned_cart, random() < 0.1 as is_converted
            from generate_series(1, {customers // 5}) as i;
            alter table core.fct_web_sessions add column session_started_date date;
            update core.fct_web_sessions set session_started_date = (session_started_at at time zone 'UTC')::date"""),
        ("int_web_events_sessionized", """
            create table intermediate.int_web_events_sessionized as
            select s.session_id, case when k = 4 then 'add_to_cart' else 'product_view' end as event_type,
                'P' || lpad((1 + floor(random() * 300))::int::text, 5, '0') as product_id,
                s.session_started_at + k * interval '1 minute' as occurred_at,
                (s.session_started_at at time zone 'UTC')::date as occurred_date
            from core.fct_web_sessions as s
            cross join lateral generate_series(1, case when s.has_abandoned_cart then 4 else 3 end) as k"""),
        ("customer_scores", f"""
            create table ml.customer_scores as
            select c.customer_id, {r} + 1 as as_of_date, m.model, 'bench-1' as model_version, 'xgboost' as method,
                false as is_fallback,
                case m.model when 'churn_risk' then random()
                    when 'value_90d' then c.total_revenue / 4 * random() * 2 else random() end as score,
                null::float as p_order_14d, null::float as p_order_30d,
                'days_since_last_order' as reason_1, 'count_orders_365d' as reason_2, null::text as reason_3,
                now() as scored_at
            from core.dim_customers as c
            cross join (values ('churn_risk'), ('value_90d'), ('next_purchase')) as m(model)"""),
        ("analyze", "analyze"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    args = parser.parse_args(argv)

    settings = load_settings({**os.environ, "CRM_STATE_DIR": os.environ.get("CRM_STATE_DIR",
                                                                              str(PROJECT_ROOT / ".crm"))})
    url = with_database(warehouse_url(settings), "crm_bench_actions")
    recreate_database(url)
    os.environ["CRM_WAREHOUSE_URL"] = url
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        print(f"server: {conn.execute('show server_version').fetchone()[0]}")
        for name, statement in generate_sql(args.customers):
            step = time.perf_counter()
            conn.execute(statement)
            print(f"  generated {name:<34} {time.perf_counter() - step:7.1f} s", flush=True)
        sizes = {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for t in (
            "core.dim_customers", "core.fct_orders", "core.fct_order_lines", "core.fct_reviews",
            "core.fct_web_sessions", "intermediate.int_web_events_sessionized", "ml.customer_scores")}
    print(f"input generated in {time.perf_counter() - started:.0f} s: "
          + ", ".join(f"{k} {v:,}" for k, v in sizes.items()))

    from expectations.actions_gate import run_actions_gate
    from proactive_crm.actions.decide import decide
    from proactive_crm.actions.policy import load_policy
    from proactive_crm.actions.publish import publish

    policy = load_policy(settings)
    with tempfile.TemporaryDirectory() as tmp, psycopg.connect(url) as conn:
        bench_settings = load_settings({**os.environ, "CRM_STATE_DIR": tmp})
        timings = {}
        for night in (RUN_DATE - timedelta(days=1), RUN_DATE):  # the second night also reads a night of history
            step = time.perf_counter()
            summary = decide(conn, night, policy, settings.store_time_zone, settings.currency, Path(tmp))
            timings[f"decide {night}"] = time.perf_counter() - step
        print("\n".join(summary.lines()))
        triggers = conn.execute(
            "select summary -> 'trigger_seconds' from actions.decision_runs where run_date = %s", (RUN_DATE,)
        ).fetchone()[0]
        print("  trigger seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in triggers.items()))
        step = time.perf_counter()
        run_actions_gate(conn, RUN_DATE, bench_settings, policy)
        timings["actions gate"] = time.perf_counter() - step
        step = time.perf_counter()
        result = publish(conn, RUN_DATE, Path(tmp) / "outbox")
        timings["publish (tables + CSV/Parquet)"] = time.perf_counter() - step
    print(f"\n{args.customers:,} customers, {summary.count_candidates:,} candidates, "
          f"{sum(result.counts.values()):,} actions published")
    for name, seconds in timings.items():
        print(f"  {name:<32} {seconds:7.1f} s")
    if not args.keep:
        with psycopg.connect(with_database(url, "postgres"), autocommit=True) as admin:
            admin.execute("drop database if exists crm_bench_actions with (force)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
