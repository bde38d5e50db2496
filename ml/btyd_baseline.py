"""The buy-till-you-die baselines, fitted by the project's own code in every install (``ml.bgnbd``, ``ml.gammagamma``).

BG/NBD needs no label window: it is fitted on the purchase history before the cut-off it predicts from, so the
same rows can be scored in evaluation and at serving time. Per model:

* ``churn_risk``: ``bgnbd`` = P(no purchase in the horizon); ``bgnbd_p_alive`` = 1 - P(alive). The latter ranks
  worse than chance where many customers have a single purchase day: BG/NBD lets a customer drop out only after a
  repeat purchase, so P(alive) is 1 for every one-time buyer, the group that churns most (grocery log: 37% of the
  rows, 99.6% of them churn; AUC 0.50 on all rows, 0.90 among repeat buyers). It stays as the textbook baseline;
  ``bgnbd`` is BG/NBD's churn score, since a silent Gamma rate also counts there;
* ``value_90d``: ``bgnbd`` = expected purchases in the horizon x Gamma-Gamma expected spend per order;
* ``next_purchase`` and ``next_purchase_category``: ``bgnbd`` = the day by which an order has probability one
  half, P(order within k days), and an ordering by P(order within the horizon). Per category the history is the
  category's own purchase days.

Outputs follow ``ml.baselines``: ``p`` (churn), ``value``, or ``days`` / ``rank`` / ``p_<k>d``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ml import bgnbd, gammagamma
from ml.train import MAX_DAYS

METHODS = {"churn_risk": ("bgnbd", "bgnbd_p_alive")}  # the BTYD baselines each model is compared with


def methods(model_name: str) -> tuple[str, ...]:
    return METHODS.get(model_name, ("bgnbd",))


def summary(frame: pd.DataFrame, model_name: str) -> pd.DataFrame:
    """(x, t_x, T) in ``ml.bgnbd``'s column names: the customer's history, or the category's for categories."""
    if model_name == "next_purchase_category":
        return pd.DataFrame(
            {
                "hist_frequency": (frame["cat_purchases"] - 1).to_numpy(dtype=float),
                "hist_recency": frame["cat_recency"].to_numpy(dtype=float),
                "hist_age": frame["cat_age"].to_numpy(dtype=float),
            }
        )
    return frame[["hist_frequency", "hist_recency", "hist_age"]].astype("float64").reset_index(drop=True)


def fit_state(model_name: str, frame: pd.DataFrame) -> dict[str, Any]:
    """Fitted parameters on the frame's history (JSON-able): stored with a version, reused when a baseline serves."""
    params = bgnbd.fit(summary(frame, model_name))
    state: dict[str, Any] = {"bgnbd": params.as_dict()}
    if model_name == "value_90d":
        spend = gammagamma.fit(frame["hist_frequency"].to_numpy(float), frame["hist_mean_value"].to_numpy(float))
        state["gamma_gamma"] = spend.as_dict() if spend else None
    return state


def _params(state: dict[str, Any]) -> bgnbd.BGNBDParams:
    return bgnbd.BGNBDParams(**state["bgnbd"])


def predict(
    model_name: str, method: str, frame: pd.DataFrame, state: dict[str, Any], horizon: int, windows: tuple[int, ...]
) -> dict[str, np.ndarray]:
    params = _params(state)
    hist = summary(frame, model_name)
    x, tx = hist["hist_frequency"].to_numpy(), hist["hist_recency"].to_numpy()
    T = np.maximum(hist["hist_age"].to_numpy(), tx)

    def p_none(t: float) -> np.ndarray:
        return bgnbd.p_no_purchase(params, t, x, tx, T)

    if model_name == "churn_risk":
        if method == "bgnbd_p_alive":
            return {"p": 1.0 - bgnbd.p_alive(params, x, tx, T)}
        return {"p": p_none(float(horizon))}
    if model_name == "value_90d":
        gg = state.get("gamma_gamma")
        spend = gammagamma.expected_spend(
            gammagamma.GammaGammaParams(**gg) if gg else None,
            frame["hist_frequency"].to_numpy(float),
            frame["hist_mean_value"].to_numpy(float),
        )
        return {"value": bgnbd.expected_purchases(params, float(horizon), x, tx, T) * spend}
    out: dict[str, np.ndarray] = {
        "days": _median_days(p_none),
        "rank": p_none(float(horizon)) - 1.0,  # more likely to order soon = earlier
    }
    for days in windows:
        out[f"p_{days}d"] = 1.0 - p_none(float(days))
    return out


def _median_days(p_none) -> np.ndarray:
    """The day by which the customer has ordered with probability one half (MAX_DAYS when never)."""
    never = p_none(MAX_DAYS) > 0.5
    lo = np.zeros_like(p_none(0.0))
    hi = np.full_like(lo, MAX_DAYS)
    for _ in range(40):
        mid = (lo + hi) / 2
        later = p_none(mid) > 0.5
        lo = np.where(later, mid, lo)
        hi = np.where(later, hi, mid)
    return np.where(never, MAX_DAYS, np.maximum(hi, 1.0))
