"""The BG/NBD baseline (Pareto/NBD family), fitted with pymc-marketing: the ``bench`` extra, not a runtime need.

``pip install -e .[bench]`` brings it in. Without it ``available()`` says why, and the report skips this baseline
with that note. Fitting is maximum a posteriori on the evaluation cut-off's own history (a BTYD model needs no
labels: it is calibrated on purchases before the cut-off and predicts the holdout after it). Spend for
``value_90d`` comes from the library's Gamma-Gamma model. P(no purchase in t) uses the library's P(alive) and its
fitted (r, alpha): the library's own ``expected_probability_no_purchase`` lets customers without a repeat purchase
drop out, which the BG/NBD model does not allow.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ml.train import MAX_DAYS

LIBRARY = "pymc-marketing"


def available() -> tuple[bool, str]:
    try:
        import pymc_marketing
    except ImportError as exc:
        return (
            False,
            f"{LIBRARY} is not installed ({exc.name} missing): "
            "install the optional extra with `pip install -e '.[bench]'`",
        )
    return True, f"{LIBRARY} {pymc_marketing.__version__}"


def _summary(frame: pd.DataFrame, model_name: str) -> pd.DataFrame:
    if model_name == "next_purchase_category":
        x, tx, T = frame["cat_purchases"] - 1, frame["cat_recency"], frame["cat_age"]
    else:
        x, tx, T = frame["hist_frequency"], frame["hist_recency"], frame["hist_age"]
    return pd.DataFrame(
        {
            "customer_id": np.arange(len(frame)),
            "frequency": x.to_numpy(dtype=float),
            "recency": tx.to_numpy(dtype=float),
            "T": np.maximum(T.to_numpy(dtype=float), tx.to_numpy(dtype=float)),
        }
    )


def _point(array: Any) -> np.ndarray:
    dims = [d for d in ("chain", "draw") if d in array.dims]
    return np.asarray(array.mean(dims) if dims else array, dtype=float).ravel()


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    for name in ("pymc", "pytensor", "pymc_marketing", "arviz"):
        logging.getLogger(name).setLevel(logging.ERROR)


def fit_predict(model_name: str, frame: pd.DataFrame, horizon: int, windows: tuple[int, ...]) -> dict[str, Any]:
    """Outputs in the baselines' convention, plus ``params`` (the fitted r, alpha, a, b)."""
    _quiet()
    from pymc_marketing.clv import BetaGeoModel

    data = _summary(frame, model_name)
    model = BetaGeoModel(data=data)
    model.fit(method="map", progressbar=False)
    fitted = model.fit_summary()
    params = {k: float(np.asarray(fitted.loc[k]).ravel()[0]) for k in ("r", "alpha", "a", "b")}
    alive = _point(model.expected_probability_alive(data))
    x, T = data["frequency"].to_numpy(), data["T"].to_numpy()

    def p_none(t: float | np.ndarray) -> np.ndarray:
        silent = ((params["alpha"] + T) / (params["alpha"] + T + t)) ** (params["r"] + x)
        return (1.0 - alive) + alive * silent

    out: dict[str, Any] = {"params": params}
    if model_name == "churn_risk":
        out["p"] = p_none(float(horizon))
        return out
    if model_name == "value_90d":
        purchases = _point(model.expected_purchases(data, future_t=horizon))
        out["value"] = purchases * _spend(frame)
        return out
    out["days"] = _median_days(p_none)
    out["rank"] = -(1.0 - p_none(float(horizon)))  # more likely to order soon = earlier
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


def _spend(frame: pd.DataFrame) -> np.ndarray:
    """Gamma-Gamma expected spend per purchase (customers with repeat purchases fit it; all get a prediction)."""
    from pymc_marketing.clv import GammaGammaModel

    value = frame["hist_mean_value"].to_numpy(dtype=float)
    freq = frame["hist_frequency"].to_numpy(dtype=float)
    data = pd.DataFrame({"customer_id": np.arange(len(frame)), "monetary_value": value, "frequency": freq})
    repeat = data[(data["frequency"] > 0) & (data["monetary_value"] > 0)].reset_index(drop=True)
    if len(repeat) < 50:
        return value
    model = GammaGammaModel(data=repeat)
    model.fit(method="map", progressbar=False)
    spend = _point(model.expected_customer_spend(data.assign(monetary_value=np.maximum(value, 0.01))))
    return np.where(np.isfinite(spend), spend, value)
