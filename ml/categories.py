"""Customer x consumable-category history for replenishment timing, strictly before each as-of date.

The feature mart is one row per customer; replenishment needs one per customer and consumable category, so these
few point-in-time aggregates are computed here from ``core.fct_order_lines`` and ``core.dim_products``: purchase
days in the category, days since the last one, the mean gap, and how long the last purchase should last
(``use_cycle_days`` x quantity). Same rule as the mart: only rows dated before the as-of date.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from ml.config import MLConfig
from ml.features import Feature, history_query, sample_filter
from proactive_crm.warehouse_frames import qualified, read_frame

CATEGORY_NUMERIC = (
    "cat_purchases",
    "cat_days_since_last",
    "cat_mean_gap_days",
    "cat_last_supply_days",
    "cat_last_units",
    "cat_revenue",
    "cat_due_in_days",
    "cat_due_ratio",
    "cat_gap_ratio",
    "cat_share_of_purchases",
    "hist_frequency",
    "hist_days_since_last",
    "hist_age",
    "hist_mean_value",
)


def category_days_cte(cfg: MLConfig, sample: int | None = None) -> sql.Composable:
    """One row per customer, consumable category and store-local day with a completed order line in it."""
    return sql.SQL(
        """category_days as (
            select l.customer_id, l.category, l.ordered_date,
                sum(l.quantity)::int as units,
                max(coalesce(p.use_cycle_days, 0) * l.quantity)::int as supply_days,
                sum(l.line_amount)::float8 as amount
            from {lines} l
            join {products} p on p.product_id = l.product_id
            where l.is_completed and p.is_consumable and l.category is not null {sample}
            group by l.customer_id, l.category, l.ordered_date
        )"""
    ).format(
        lines=qualified(cfg.tables.order_lines),
        products=qualified(cfg.tables.products),
        sample=sample_filter("l.customer_id", sample),
    )


def category_history_query(cfg: MLConfig, window_days: int | None = None, sample: int | None = None) -> sql.Composable:
    """Per (customer, category, as-of date in %(as_of)s); ``window_days`` keeps customers active in that window."""
    where = sql.SQL("")
    if window_days is not None:
        where = sql.SQL("where (c.as_of_date, d.customer_id) in (select as_of_date, customer_id from active)")
    active = sql.SQL("")
    if window_days is not None:
        active = sql.SQL(
            """, active as (
                select c.as_of_date, l.customer_id
                from cutoffs c join {orders} l
                    on l.ordered_date < c.as_of_date and l.ordered_date >= c.as_of_date - {window}
                where l.is_completed
                group by 1, 2
            )"""
        ).format(orders=qualified(cfg.tables.orders), window=sql.Literal(window_days))
    return sql.SQL(
        """with cutoffs as (select unnest(%(as_of)s::date[]) as as_of_date),
        {category_days}{active}
        select
            d.customer_id,
            d.category,
            c.as_of_date,
            count(*)::int as cat_purchases,
            (c.as_of_date - max(d.ordered_date))::int as cat_days_since_last,
            (max(d.ordered_date) - min(d.ordered_date))::int as cat_recency,
            (c.as_of_date - min(d.ordered_date))::int as cat_age,
            (max(d.ordered_date) - min(d.ordered_date))::float8 / nullif(count(*) - 1, 0) as cat_mean_gap_days,
            (array_agg(d.supply_days order by d.ordered_date desc))[1] as cat_last_supply_days,
            (array_agg(d.units order by d.ordered_date desc))[1] as cat_last_units,
            sum(d.amount) as cat_revenue
        from cutoffs c
        join category_days d on d.ordered_date < c.as_of_date
        {where}
        group by c.as_of_date, d.customer_id, d.category"""
    ).format(category_days=category_days_cte(cfg, sample), active=active, where=where)


def derive(frame: pd.DataFrame) -> pd.DataFrame:
    """Ratios that say how due a replenishment is (NaN where undefined)."""
    out = frame.copy()
    supply = out["cat_last_supply_days"].where(out["cat_last_supply_days"] > 0)
    out["cat_due_in_days"] = supply - out["cat_days_since_last"]
    out["cat_due_ratio"] = out["cat_days_since_last"] / supply
    out["cat_gap_ratio"] = out["cat_days_since_last"] / out["cat_mean_gap_days"].where(out["cat_mean_gap_days"] > 0)
    out["cat_share_of_purchases"] = out["cat_purchases"] / (out["hist_frequency"] + 1)
    for name in ("cat_due_in_days", "cat_due_ratio", "cat_gap_ratio", "cat_share_of_purchases"):
        out[name] = out[name].astype("float64").replace([np.inf, -np.inf], np.nan)
    return out


def load_category_frame(
    conn: psycopg.Connection, cfg: MLConfig, as_of: list[date], sample: int | None = None
) -> pd.DataFrame:
    pairs = read_frame(conn, category_history_query(cfg, sample=sample), {"as_of": as_of})
    history = read_frame(conn, history_query(cfg, sample=sample), {"as_of": as_of})
    frame = pairs.merge(history, on=["customer_id", "as_of_date"], how="inner", validate="many_to_one")
    frame = derive(frame)
    return frame.sort_values(["as_of_date", "customer_id", "category"], kind="stable").reset_index(drop=True)


def category_spec(frame: pd.DataFrame, derived: list[str]) -> list[Feature]:
    levels = tuple(sorted(frame["category"].dropna().astype(str).unique().tolist()))
    spec = [Feature("category", "categorical", "history", "text", levels)]
    spec += [Feature(name, "numeric", "history") for name in CATEGORY_NUMERIC]
    spec += [Feature(name, "numeric", "derived") for name in derived]
    return spec
