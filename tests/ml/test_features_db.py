"""Point-in-time features and labels against a real PostgreSQL database (the mini warehouse)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import psycopg
import pytest

from ml.categories import load_category_frame
from ml.config import MLConfig
from ml.features import add_bgnbd_features, load_customer_frame, warehouse_feature_types
from ml.labels import attach_customer_labels
from tests.ml.conftest import create_tables, make_config

AS_OF = date(2025, 10, 1)


def test_feature_columns_are_discovered_from_the_table(warehouse: str, mini_warehouse: MLConfig):
    with psycopg.connect(warehouse) as conn:
        # a date column beside the mart's own (in this transaction only, rolled back): dates are not features
        conn.execute(f"alter table {mini_warehouse.tables.features} add column last_order_date date")
        types = warehouse_feature_types(conn, mini_warehouse)
        conn.rollback()
    assert "customer_id" not in types and "as_of_date" not in types
    assert "last_order_date" not in types  # dates are not features
    assert types["loyalty_status"] == "text" and types["total_revenue"] == "numeric"


def _all_features(conn: psycopg.Connection, cfg: MLConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    customers, _ = add_bgnbd_features(load_customer_frame(conn, cfg, [AS_OF]), cfg.horizon_days)
    categories = load_category_frame(conn, cfg, [AS_OF])
    return customers, categories


def shift_the_future(orders: pd.DataFrame, lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Everything dated on or after AS_OF moves 45 days later, costs three times as much and flips status; and
    every customer gets an extra order on AS_OF itself."""
    orders, lines = orders.copy(), lines.copy()
    future = orders["ordered_date"] >= AS_OF
    orders.loc[future, "ordered_date"] = orders.loc[future, "ordered_date"] + timedelta(days=45)
    orders.loc[future, "total_amount"] *= 3
    orders.loc[future, "is_completed"] = ~orders.loc[future, "is_completed"]
    extra = orders.drop_duplicates("customer_id").assign(
        order_id=lambda f: "X" + f["order_id"], ordered_date=AS_OF, is_completed=True, total_amount=99.0
    )
    orders = pd.concat([orders, extra], ignore_index=True)
    moved = lines.merge(orders[["order_id", "ordered_date", "is_completed"]], on="order_id", suffixes=("_old", ""))
    moved = moved.drop(columns=["ordered_date_old", "is_completed_old"])
    extra_lines = lines.drop_duplicates("customer_id").assign(
        order_id=lambda f: "X" + f["order_id"], ordered_date=AS_OF, is_completed=True
    )
    return orders, pd.concat([moved, extra_lines], ignore_index=True)


def test_no_feature_uses_data_on_or_after_its_as_of_date(
    warehouse: str, mini_warehouse: MLConfig, mini_orders, tmp_path
):
    """Shift the future and show that the features do not move (while the labels do)."""
    shifted_cfg = make_config(tmp_path, f"mlt_{uuid.uuid4().hex[:6]}")
    with psycopg.connect(warehouse, autocommit=True) as conn:
        create_tables(conn, shifted_cfg.tables, *shift_the_future(*mini_orders))
        try:
            before, before_categories = _all_features(conn, mini_warehouse)
            after, after_categories = _all_features(conn, shifted_cfg)
            until = {AS_OF: AS_OF + timedelta(days=120)}
            labels_before = attach_customer_labels(conn, mini_warehouse, before, until)
            labels_after = attach_customer_labels(conn, shifted_cfg, after, until)
        finally:
            for schema in {t.split(".")[0] for t in vars(shifted_cfg.tables).values()}:
                conn.execute(f"drop schema if exists {schema} cascade")
    assert len(before) > 300 and len(before_categories) > 300
    pd.testing.assert_frame_equal(before, after)
    pd.testing.assert_frame_equal(before_categories, after_categories)
    assert not labels_before["label_revenue"].equals(labels_after["label_revenue"])  # the future did change


def test_labels_follow_the_orders_after_the_cutoff(warehouse: str, mini_warehouse: MLConfig, mini_orders):
    orders = mini_orders[0]
    completed = orders[orders["is_completed"]]
    with psycopg.connect(warehouse) as conn:
        frame = load_customer_frame(conn, mini_warehouse, [AS_OF])
        labelled = attach_customer_labels(conn, mini_warehouse, frame, {AS_OF: AS_OF + timedelta(days=120)})
    for row in labelled.sample(40, random_state=1).itertuples():
        mine = completed[(completed.customer_id == row.customer_id) & (completed.ordered_date >= AS_OF)]
        in_horizon = mine[mine.ordered_date < AS_OF + timedelta(days=90)]
        assert row.label_churn == int(in_horizon.empty)
        assert row.label_revenue == pytest.approx(float(in_horizon.total_amount.sum()))
        observed = mine[mine.ordered_date < AS_OF + timedelta(days=120)]
        if observed.empty:
            assert not row.label_event and row.label_time == 120
        else:
            assert row.label_event and row.label_time == (observed.ordered_date.min() - AS_OF).days + 1


def test_population_is_customers_with_a_completed_order_before_the_cutoff(warehouse, mini_warehouse, mini_orders):
    orders = mini_orders[0]
    expected = set(orders[orders.is_completed & (orders.ordered_date < AS_OF)].customer_id)
    with psycopg.connect(warehouse) as conn:
        frame = load_customer_frame(conn, replace(mini_warehouse), [AS_OF])
    assert set(frame.customer_id) == expected
    assert np.all(frame["hist_days_since_last"] >= 1)


def test_a_training_sample_keeps_the_same_customers_at_every_cutoff(warehouse: str, mini_warehouse: MLConfig):
    cutoffs = [date(2025, 8, 1), date(2025, 10, 1)]
    with psycopg.connect(warehouse) as conn:
        everybody = load_customer_frame(conn, mini_warehouse, cutoffs)
        half = load_customer_frame(conn, mini_warehouse, cutoffs, sample=5000)
    assert 0.35 < len(half) / len(everybody) < 0.65
    early, late = (set(half.loc[half.as_of_date == pd.Timestamp(c), "customer_id"]) for c in cutoffs)
    everybody_late = set(everybody.loc[everybody.as_of_date == pd.Timestamp(cutoffs[1]), "customer_id"])
    assert early <= late and late <= everybody_late
