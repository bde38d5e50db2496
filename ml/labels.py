"""What happened after each cut-off: the labels, from completed orders on or after it.

Per customer and cut-off, observed until ``observed_until`` (exclusive):
* ``label_churn``: 1 when no completed order falls in ``[cutoff, cutoff + horizon)``;
* ``label_time`` / ``label_event``: days to the next completed order counting the cut-off day as day 1, or, when
  none was observed, the follow-up length (``observed_until - cutoff``) as a right-censored time;
* ``label_revenue``: completed-order revenue in ``[cutoff, cutoff + horizon)``.
Per customer, consumable category and cut-off: ``label_time`` / ``label_event`` for the next purchase in it.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from ml.categories import category_days_cte
from ml.config import MLConfig
from ml.features import purchase_days_cte
from proactive_crm.warehouse_frames import read_frame

LABELS = ("label_churn", "label_time", "label_event", "label_revenue", "follow_up_days")


def _cutoffs_cte() -> sql.Composable:
    return sql.SQL(
        "cutoffs as (select * from unnest(%(as_of)s::date[], %(until)s::date[]) as c(as_of_date, observed_until))"
    )


def customer_outcomes_query(cfg: MLConfig, sample: int | None = None) -> sql.Composable:
    return sql.SQL(
        """with {cutoffs}, {purchase_days}
        select
            p.customer_id,
            c.as_of_date,
            (min(p.ordered_date) - c.as_of_date + 1)::int as days_to_next,
            coalesce(sum(p.amount) filter (where p.ordered_date < c.as_of_date + %(horizon)s), 0)::float8
                as revenue_in_horizon
        from cutoffs c
        join purchase_days p on p.ordered_date >= c.as_of_date and p.ordered_date < c.observed_until
        group by c.as_of_date, p.customer_id"""
    ).format(cutoffs=_cutoffs_cte(), purchase_days=purchase_days_cte(cfg, sample))


def category_outcomes_query(cfg: MLConfig, sample: int | None = None) -> sql.Composable:
    return sql.SQL(
        """with {cutoffs}, {category_days}
        select
            d.customer_id,
            d.category,
            c.as_of_date,
            (min(d.ordered_date) - c.as_of_date + 1)::int as days_to_next
        from cutoffs c
        join category_days d on d.ordered_date >= c.as_of_date and d.ordered_date < c.observed_until
        group by c.as_of_date, d.customer_id, d.category"""
    ).format(cutoffs=_cutoffs_cte(), category_days=category_days_cte(cfg, sample))


def _params(observed_until: dict[date, date], horizon: int) -> dict[str, object]:
    cutoffs = sorted(observed_until)
    return {"as_of": cutoffs, "until": [observed_until[c] for c in cutoffs], "horizon": horizon}


def _follow_up(frame: pd.DataFrame, observed_until: dict[date, date]) -> np.ndarray:
    until = {pd.Timestamp(k): pd.Timestamp(v) for k, v in observed_until.items()}
    as_of = pd.to_datetime(frame["as_of_date"])
    return (as_of.map(until) - as_of).dt.days.to_numpy()


def attach_customer_labels(
    conn: psycopg.Connection,
    cfg: MLConfig,
    frame: pd.DataFrame,
    observed_until: dict[date, date],
    sample: int | None = None,
) -> pd.DataFrame:
    """``frame`` rows (customer_id, as_of_date) get the label columns; follow-up must cover the horizon."""
    outcomes = read_frame(conn, customer_outcomes_query(cfg, sample), _params(observed_until, cfg.horizon_days))
    out = frame.merge(outcomes, on=["customer_id", "as_of_date"], how="left", validate="one_to_one")
    out["follow_up_days"] = _follow_up(out, observed_until)
    if (out["follow_up_days"] < cfg.horizon_days).any():
        raise ValueError("a cut-off's follow-up is shorter than the horizon: its labels are not fully observed")
    return _finish(out, cfg.horizon_days)


def _finish(out: pd.DataFrame, horizon: int) -> pd.DataFrame:
    event = out["days_to_next"].notna().to_numpy()
    out["label_event"] = event
    out["label_time"] = np.where(event, out["days_to_next"].fillna(0), out["follow_up_days"]).astype("float64")
    out["label_churn"] = (~(event & (out["label_time"] <= horizon))).astype("int8")
    out["label_revenue"] = out["revenue_in_horizon"].fillna(0.0).astype("float64")
    return out.drop(columns=["days_to_next", "revenue_in_horizon"])


def attach_category_labels(
    conn: psycopg.Connection,
    cfg: MLConfig,
    frame: pd.DataFrame,
    observed_until: dict[date, date],
    sample: int | None = None,
) -> pd.DataFrame:
    outcomes = read_frame(conn, category_outcomes_query(cfg, sample), _params(observed_until, cfg.horizon_days))
    out = frame.merge(outcomes, on=["customer_id", "category", "as_of_date"], how="left", validate="one_to_one")
    out["follow_up_days"] = _follow_up(out, observed_until)
    event = out["days_to_next"].notna().to_numpy()
    out["label_event"] = event
    out["label_time"] = np.where(event, out["days_to_next"].fillna(0), out["follow_up_days"]).astype("float64")
    return out.drop(columns=["days_to_next"])


def censor_at(frame: pd.DataFrame, until: date) -> pd.DataFrame:
    """The survival labels as they would have been seen on ``until`` (exclusive): for validation splits."""
    out = frame.copy()
    follow = (pd.Timestamp(until) - pd.to_datetime(out["as_of_date"])).dt.days.to_numpy()
    later = out["label_time"].to_numpy() > follow
    out.loc[later, "label_event"] = False
    out["label_time"] = np.minimum(out["label_time"].to_numpy(), follow).astype("float64")
    out["follow_up_days"] = np.minimum(out["follow_up_days"].to_numpy(), follow)
    return out
