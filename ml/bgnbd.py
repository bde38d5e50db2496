"""Closed-form BG/NBD (Fader, Hardie & Lee 2005) with numpy/scipy only: the runtime needs no BTYD library.

Inputs per customer, in days, as of a cut-off (columns of ``ml.features.history_query``): ``hist_frequency`` x
(repeat purchase days), ``hist_recency`` t_x (first to last purchase day) and ``hist_age`` T (first purchase day to
the cut-off). The model is fitted afresh on the history before each as-of date, so the derived features use nothing
on or after it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special


def feature_names(horizon_days: int) -> tuple[str, ...]:
    """P(alive), expected purchases and P(no purchase) in the horizon, and the customer's own rhythm: days since
    the last purchase over their mean gap between purchase days (missing for a single purchase day)."""
    return (
        "bgnbd_p_alive",
        f"bgnbd_expected_purchases_{horizon_days}d",
        f"bgnbd_p_no_purchase_{horizon_days}d",
        "rhythm_gap_ratio",
    )


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float
    converged: bool = True
    n_customers: int = 0

    def as_dict(self) -> dict[str, float | bool | int]:
        return asdict(self)


def _loglik_terms(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a3 = np.where(
            x > 0,
            special.betaln(a + 1, np.maximum(b + x - 1, 1e-12)) - special.betaln(a, b) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    return a1 + np.logaddexp(a2, a3)


def _summary_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = frame["hist_frequency"].to_numpy(dtype=float)
    tx = frame["hist_recency"].to_numpy(dtype=float)
    T = frame["hist_age"].to_numpy(dtype=float)
    return x, tx, np.maximum(T, tx)


def fit(frame: pd.DataFrame, weight_column: str | None = None) -> BGNBDParams:
    """Maximum likelihood on (x, t_x, T); identical customers are weighted, not repeated.

    ``weight_column`` names a count column when the frame is already grouped by (x, t_x, T).
    """
    if frame.empty:
        return BGNBDParams(1.0, 30.0, 1.0, 1.0, converged=False, n_customers=0)
    x, tx, T = _summary_arrays(frame)
    if weight_column is None:
        unique, weights = np.unique(np.stack([x, tx, T], axis=1), axis=0, return_counts=True)
        ux, utx, uT = unique.T
    else:
        ux, utx, uT, weights = x, tx, T, frame[weight_column].to_numpy(dtype=float)
    scale = max(float(np.average(uT, weights=weights)), 1.0)  # alpha lives on the time scale; start it there

    def neg_ll(log_params: np.ndarray) -> float:
        value = -np.sum(weights * _loglik_terms(np.exp(log_params), ux, utx, uT)) / weights.sum()
        return float(value) if np.isfinite(value) else 1e10

    start = np.log([0.5, scale / 4, 0.5, 2.0])
    result = optimize.minimize(neg_ll, start, method="L-BFGS-B", bounds=[(-9.0, 9.0), (-9.0, 12.0)] + [(-9.0, 9.0)] * 2)
    r, alpha, a, b = np.exp(result.x)
    return BGNBDParams(float(r), float(alpha), float(a), float(b), bool(result.success), int(weights.sum()))


def p_alive(params: BGNBDParams, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratio = (
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        )
        odds = np.where(x > 0, np.exp(np.minimum(log_ratio, 700)), 0.0)
    return 1.0 / (1.0 + odds)


def expected_purchases(params: BGNBDParams, t: float, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """E[purchases in (T, T+t] | history] (Fader, Hardie & Lee 2005, eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if abs(a - 1.0) < 1e-6:
        a = 1.0 + 1e-6  # the closed form has a removable singularity at a = 1
    z = t / (alpha + T + t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        head = (a + b + x - 1) / (a - 1)
        body = 1.0 - np.power((alpha + T) / (alpha + T + t), r + x) * hyp
        value = head * body * p_alive(params, x, tx, T)
    return np.clip(np.nan_to_num(value, nan=0.0, posinf=0.0), 0.0, None)


def p_no_purchase(
    params: BGNBDParams, t: float | np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(no purchase in (T, T+t]): dead, or alive with a Gamma(r+x, alpha+T) rate that produced nothing."""
    alive = p_alive(params, x, tx, T)
    silent = np.power((params.alpha + T) / (params.alpha + T + t), params.r + x)
    return (1.0 - alive) + alive * silent


def features(params: BGNBDParams, summary: pd.DataFrame, horizon_days: int = 90) -> pd.DataFrame:
    """The derived features added to the XGBoost feature set, indexed like ``summary``."""
    x, tx, T = _summary_arrays(summary)
    alive_name, purchases_name, silent_name, rhythm_name = feature_names(horizon_days)
    with np.errstate(divide="ignore", invalid="ignore"):
        rhythm = np.where(x > 0, (T - tx) / (tx / np.maximum(x, 1.0)), np.nan)
    return pd.DataFrame(
        {
            alive_name: p_alive(params, x, tx, T),
            purchases_name: expected_purchases(params, float(horizon_days), x, tx, T),
            silent_name: p_no_purchase(params, float(horizon_days), x, tx, T),
            rhythm_name: np.where(np.isfinite(rhythm), rhythm, np.nan),
        },
        index=summary.index,
    )
