"""XGBoost fitting for the four models: objectives, labels, early stopping, and their predictions.

* ``churn_risk``: ``binary:logistic`` on ``label_churn``.
* ``next_purchase`` / ``next_purchase_category``: ``survival:aft`` (log-normal accelerated failure time) on
  interval labels: an observed next order at day t is [t, t]; none seen in the follow-up F is [F, +inf), so
  censoring is respected rather than imputed. The distribution scale sigma is re-estimated on the validation
  cut-off by maximum likelihood given the trees' log-time predictions.
* ``value_90d``: ``reg:tweedie`` on 90-day revenue (many zeros, a long right tail).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy import optimize, stats

from ml.config import MLConfig
from ml.features import Feature, design_matrix

SURVIVAL = ("next_purchase", "next_purchase_category")
TWEEDIE_POWER = 1.4
MAX_DAYS = 730.0  # predicted days are capped here: "not within two years"


def objective_params(model_name: str) -> dict[str, Any]:
    if model_name == "churn_risk":
        return {"objective": "binary:logistic", "eval_metric": "logloss"}
    if model_name in SURVIVAL:
        return {
            "objective": "survival:aft",
            "eval_metric": "aft-nloglik",
            "aft_loss_distribution": "normal",
            "aft_loss_distribution_scale": 1.0,
        }
    if model_name == "value_90d":
        return {
            "objective": "reg:tweedie",
            "tweedie_variance_power": TWEEDIE_POWER,
            "eval_metric": f"tweedie-nloglik@{TWEEDIE_POWER}",
        }
    raise ValueError(f"unknown model {model_name!r}")


def booster_params(model_name: str, cfg: MLConfig, spec: list[Feature]) -> dict[str, Any]:
    params: dict[str, Any] = {
        "tree_method": "hist",
        "max_depth": 5,
        "eta": 0.05,
        "min_child_weight": 5,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "lambda": 1.0,
        "max_bin": 128,
        "max_cat_to_onehot": 8,
        "nthread": cfg.nthread,
        "seed": cfg.seed,
        **objective_params(model_name),
    }
    constraints = cfg.monotone.get(model_name, {})
    if constraints:
        params["monotone_constraints"] = "(" + ",".join(str(constraints.get(f.name, 0)) for f in spec) + ")"
    return params


def dmatrix(model_name: str, frame: pd.DataFrame, spec: list[Feature], nthread: int, with_labels: bool = True):
    data = design_matrix(frame, spec)
    if not with_labels:
        return xgb.DMatrix(data, enable_categorical=True, nthread=nthread)
    if model_name in SURVIVAL:
        time_ = frame["label_time"].to_numpy(dtype=np.float64)
        event = frame["label_event"].to_numpy(dtype=bool)
        matrix = xgb.DMatrix(data, enable_categorical=True, nthread=nthread)
        matrix.set_float_info("label_lower_bound", np.maximum(time_, 0.5))
        matrix.set_float_info("label_upper_bound", np.where(event, np.maximum(time_, 0.5), np.inf))
        return matrix
    label = frame["label_churn"] if model_name == "churn_risk" else frame["label_revenue"]
    return xgb.DMatrix(data, label=label.to_numpy(dtype=np.float64), enable_categorical=True, nthread=nthread)


@dataclass
class Fitted:
    booster: xgb.Booster
    rounds: int
    sigma: float | None = None
    seconds: float = 0.0
    history: dict[str, Any] = field(default_factory=dict)


def fit(
    model_name: str,
    train: pd.DataFrame,
    spec: list[Feature],
    cfg: MLConfig,
    valid: pd.DataFrame | None = None,
    rounds: int | None = None,
) -> Fitted:
    """With ``valid``: early stopping on it. Otherwise exactly ``rounds`` (default ``cfg.num_boost_round``)."""
    started = time.perf_counter()
    params = booster_params(model_name, cfg, spec)
    dtrain = dmatrix(model_name, train, spec, cfg.nthread)
    if valid is not None and len(valid):
        dvalid = dmatrix(model_name, valid, spec, cfg.nthread)
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=cfg.num_boost_round,
            evals=[(dvalid, "valid")],
            early_stopping_rounds=cfg.early_stopping_rounds,
            verbose_eval=False,
        )
        best = int(booster.best_iteration) + 1
        booster = booster[:best]
    else:
        best = rounds or cfg.num_boost_round
        booster = xgb.train(params, dtrain, num_boost_round=best, verbose_eval=False)
    fitted = Fitted(booster=booster, rounds=best, seconds=time.perf_counter() - started)
    if model_name in SURVIVAL:
        fitted.sigma = 1.0
    return fitted


def log_time(booster: xgb.Booster, matrix: xgb.DMatrix) -> np.ndarray:
    """The AFT location mu = E[log T] (the median of T is exp(mu))."""
    return booster.predict(matrix, output_margin=True).astype(np.float64)


def calibrate_sigma(mu: np.ndarray, time_: np.ndarray, event: np.ndarray) -> float:
    """Maximum-likelihood scale of a log-normal AFT given fixed locations (censored rows contribute survival)."""
    log_t = np.log(np.maximum(time_, 0.5))

    def nll(log_sigma: float) -> float:
        s = float(np.exp(log_sigma))
        z = (log_t - mu) / s
        ll = np.where(event, stats.norm.logpdf(z) - np.log(s), stats.norm.logsf(z))
        return -float(np.sum(ll))

    result = optimize.minimize_scalar(nll, bounds=(np.log(0.2), np.log(5.0)), method="bounded")
    return float(np.exp(result.x))


def survival_outputs(mu: np.ndarray, sigma: float, windows: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Predicted days (median, capped) and P(next order within each window), from mu and sigma."""
    out = {"days": np.minimum(np.exp(mu), MAX_DAYS)}
    for days in windows:
        # an order on day k (day 1 = the as-of date) happened within `days` days when T <= days
        out[f"p_{days}d"] = stats.norm.cdf((np.log(days + 0.5) - mu) / sigma)
    return out


def predict(model_name: str, booster: xgb.Booster, matrix: xgb.DMatrix) -> np.ndarray:
    """Churn probability, or expected revenue; for survival models the log-time location mu."""
    if model_name in SURVIVAL:
        return log_time(booster, matrix)
    return booster.predict(matrix).astype(np.float64)


WINDOWS = {"next_purchase": (14, 30), "next_purchase_category": (7, 14)}


def outputs(
    model_name: str, booster: xgb.Booster, frame: pd.DataFrame, spec: list[Feature], nthread: int, sigma: float | None
) -> dict[str, np.ndarray]:
    """Predictions in the baselines' convention (``p``, ``value``, or ``days``/``rank``/``p_<k>d``)."""
    matrix = dmatrix(model_name, frame, spec, nthread, with_labels=False)
    raw = predict(model_name, booster, matrix)
    if model_name == "churn_risk":
        return {"p": raw}
    if model_name == "value_90d":
        return {"value": raw}
    out = survival_outputs(raw, sigma or 1.0, WINDOWS[model_name])
    out["rank"] = raw
    return out
