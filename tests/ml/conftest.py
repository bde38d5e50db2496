"""A small warehouse of its own for the ML tests: simulated orders and a stand-in feature table.

The tables are made from the contracts of ``core.fct_orders``, ``core.fct_order_lines``, ``core.dim_products`` and
``ml.ml_customer_features`` (every column and type of the dbt model: tests/dbt_contracts.py) but live in schemas of
their own (``MLConfig.tables`` points there), so these tests neither wait for dbt nor collide with the dbt-built marts
other tests create in the same database. The stand-in feature table computes a few of the mart's features
(``STAND_IN_FEATURES``); the others stay null and the test config excludes them from training. Customers follow
a BG/NBD-like process (a gamma purchase rate and a drop-out chance after each order), as in the synthetic retailer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest

from ml.config import ColdStart, MLConfig, Tables
from ml.features import KEYS
from proactive_crm.warehouse_frames import copy_frame
from tests.dbt_contracts import contract_columns, create_contract_table

START = date(2025, 1, 1)
RUN_DATE = date(2026, 2, 28)
PRODUCTS = pd.DataFrame(
    {
        "product_id": ["P1", "P2", "P3", "P4", "P5"],
        "category": ["coffee", "coffee", "tea", "pet_food", "kitchen"],
        "is_consumable": [True, True, True, True, False],
        "use_cycle_days": [20, 40, 30, 25, None],
        "price": [8.0, 15.0, 5.0, 20.0, 90.0],
    }
)

FEATURES_SQL = """
insert into {features} (
    customer_id, as_of_date, days_since_last_order, count_orders, count_orders_30d, count_orders_365d,
    total_revenue, average_order_value, loyalty_status
)
with cutoffs as (
    select d::date as as_of_date
    from generate_series(date '2025-02-01', %(last)s::date, interval '1 month') d
    union select %(scoring)s::date
),
history as (
    select c.as_of_date, o.customer_id,
        (c.as_of_date - 1) - max(o.ordered_date) as days_since_last_order,
        count(*) as count_orders,
        count(*) filter (where o.ordered_date >= c.as_of_date - 30) as count_orders_30d,
        count(*) filter (where o.ordered_date >= c.as_of_date - 365) as count_orders_365d,
        sum(o.total_amount)::numeric(14, 2) as total_revenue,
        (sum(o.total_amount) / count(*))::float8 as average_order_value,
        case when count(*) = 1 then 'new' when count(*) < 4 then 'repeat' else 'loyal' end as loyalty_status
    from cutoffs c join {orders} o on o.ordered_date < c.as_of_date and o.is_completed
    group by 1, 2
)
select customer_id, as_of_date, days_since_last_order::int, count_orders, count_orders_30d, count_orders_365d,
    total_revenue, average_order_value, loyalty_status
from history
"""
STAND_IN_FEATURES = (
    "days_since_last_order",
    "count_orders",
    "count_orders_30d",
    "count_orders_365d",
    "total_revenue",
    "average_order_value",
    "loyalty_status",
)
STAND_IN_MODELS = {  # Tables field -> the dbt model whose contract the stand-in has
    "orders": "fct_orders",
    "order_lines": "fct_order_lines",
    "products": "dim_products",
    "features": "ml_customer_features",
}


def simulate_orders(n: int, seed: int, start: date = START, end: date = RUN_DATE) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    days = (end - start).days + 1
    rows, lines = [], []
    for i in range(n):
        customer = f"C{i:05d}"
        t = float(rng.integers(0, days - 30))
        rate = rng.gamma(0.9, 1 / 25)
        drop = rng.beta(1.0, 10.0)
        favourite = rng.integers(0, 4)
        while t < days:
            k = len(rows)
            day = start + timedelta(days=int(t))
            products = [favourite] + ([int(rng.integers(0, 5))] if rng.random() < 0.4 else [])
            amount = 0.0
            for line, p in enumerate(dict.fromkeys(products), start=1):
                qty = int(rng.integers(1, 3))
                amount_line = round(qty * PRODUCTS.price[p], 2)
                amount += amount_line
                lines.append((f"O{k:07d}", line, PRODUCTS.product_id[p], PRODUCTS.category[p], qty, amount_line))
            status = "completed" if rng.random() > 0.05 else "cancelled"
            rows.append((f"O{k:07d}", customer, day, status, round(amount, 2)))
            if rng.random() < drop:
                break
            t += rng.exponential(1 / rate)
    orders = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_date", "status", "total_amount"])
    orders["is_completed"] = orders["status"] == "completed"
    order_lines = pd.DataFrame(
        lines, columns=["order_id", "line_number", "product_id", "category", "quantity", "line_amount"]
    ).merge(orders[["order_id", "customer_id", "ordered_date", "is_completed"]], on="order_id")
    return orders, order_lines


def create_tables(conn: psycopg.Connection, tables: Tables, orders: pd.DataFrame, lines: pd.DataFrame) -> None:
    for table in (tables.orders, tables.order_lines, tables.products, tables.features):
        conn.execute(f"drop table if exists {table}")
    create_contract_table(conn, "fct_orders", tables.orders, ("order_id",))
    create_contract_table(conn, "fct_order_lines", tables.order_lines)
    create_contract_table(conn, "dim_products", tables.products, ("product_id",))
    copy_frame(
        conn,
        tables.orders,
        orders,
        ["order_id", "customer_id", "ordered_date", "status", "is_completed", "total_amount"],
    )
    copy_frame(
        conn,
        tables.order_lines,
        lines,
        [
            "order_id",
            "line_number",
            "customer_id",
            "product_id",
            "category",
            "quantity",
            "line_amount",
            "ordered_date",
            "is_completed",
        ],
    )
    products = PRODUCTS.assign(use_cycle_days=PRODUCTS.use_cycle_days.astype("Int64"))
    copy_frame(conn, tables.products, products, ["product_id", "category", "is_consumable", "use_cycle_days", "price"])
    build_features(conn, tables)


def build_features(conn: psycopg.Connection, tables: Tables, run_date: date = RUN_DATE) -> None:
    conn.execute(f"drop table if exists {tables.features}")
    create_contract_table(conn, "ml_customer_features", tables.features)
    last_month = run_date.replace(day=1)
    conn.execute(
        FEATURES_SQL.format(features=tables.features, orders=tables.orders),
        {"last": last_month, "scoring": run_date + timedelta(days=1)},
    )


def uncomputed_features() -> tuple[str, ...]:
    """The feature mart's columns the stand-in leaves null."""
    return tuple(c for c in contract_columns("ml_customer_features") if c not in (*KEYS, *STAND_IN_FEATURES))


def drop_uncomputed_features(conn: psycopg.Connection, table: str) -> None:
    """For a run with the default config (no exclude_features): drop the all-null columns, which training cannot
    take (a text column without a single level fails in xgboost's categorical encoding; a real mart has levels)."""
    for column in uncomputed_features():
        conn.execute(f"alter table {table} drop column {column}")


def make_config(models_dir: Path, prefix: str) -> MLConfig:
    tables = Tables(
        features=f"{prefix}_ml.features",
        orders=f"{prefix}_core.fct_orders",
        order_lines=f"{prefix}_core.fct_order_lines",
        products=f"{prefix}_core.dim_products",
        scores=f"{prefix}_ml.customer_scores",
        category_scores=f"{prefix}_ml.customer_category_scores",
        scoring_runs=f"{prefix}_ml.scoring_runs",
    )
    return MLConfig(
        models_dir=models_dir,
        cold_start=ColdStart(min_customers=200, min_orders=500, min_history_days=200),
        num_boost_round=80,
        early_stopping_rounds=10,
        chunk_rows=1000,
        max_training_cutoffs=6,
        monotone={
            "churn_risk": {
                "days_since_last_order": 1,
                "bgnbd_p_alive": -1,
                "bgnbd_expected_purchases_90d": -1,
                "bgnbd_p_no_purchase_90d": 1,
                "rhythm_gap_ratio": 1,
            }
        },
        exclude_features=uncomputed_features(),  # null in the stand-in: nothing to learn from
        tables=tables,
    )


@pytest.fixture(scope="session")
def mini_orders() -> tuple[pd.DataFrame, pd.DataFrame]:
    return simulate_orders(900, seed=7)


@pytest.fixture(scope="session")
def mini_warehouse(warehouse: str, mini_orders, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MLConfig]:
    """A warehouse with ~900 simulated customers over 14 months, and a config pointing at it."""
    prefix = f"mlt_{uuid.uuid4().hex[:6]}"
    cfg = make_config(tmp_path_factory.mktemp("models"), prefix)
    with psycopg.connect(warehouse, autocommit=True) as conn:
        create_tables(conn, cfg.tables, *mini_orders)
    yield cfg
    with psycopg.connect(warehouse, autocommit=True) as conn:
        for schema in (f"{prefix}_ml", f"{prefix}_core"):
            conn.execute(f"drop schema if exists {schema} cascade")


@pytest.fixture
def fresh_registry(mini_warehouse: MLConfig, tmp_path: Path) -> MLConfig:
    """The mini warehouse with an empty model registry of the test's own."""
    return replace(mini_warehouse, models_dir=tmp_path / "models")
