"""Calibrated churn probabilities: Platt scaling of the served churn score, fitted on the validation rows.

The decision step spends on P(churn) x value, so the probability's level matters even where its ranking does not.
The trees are fitted on pooled cut-offs whose churn rates differ from the latest one, and a blend with a baseline
(``ml.blend``) mixes two scales: the served score can be well ranked and still off in level. A logistic map of the
score's logit, ``p' = 1 / (1 + exp(-(a * logit(p) + b)))`` with ``a > 0``, corrects the level and the spread and
keeps every ranking (ROC AUC, lift and the decisions' order do not move). It is fitted on the rows that chose the
blend and the early stopping (the validation cut-off, or the held-out customers of the training cut-offs), never on
the evaluation cut-off, stored with the version (``blend.calibration`` in its metadata) and applied wherever the
version predicts: evaluation, backtest, promotion and the nightly scores. Isotonic regression was not used: its
steps tie customers that the model separates, which lowers ROC AUC on the sparse retailers.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

EPS = 1e-6
MIN_ROWS = 200  # fewer validation rows (or no churner / no stayer among them): the score stays as it is


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), EPS, 1.0 - EPS)
    return np.log(q) - np.log1p(-q)


def fit(p: np.ndarray, y: np.ndarray) -> dict[str, float] | None:
    """Platt parameters {a, b} by maximum likelihood on (score, label); None when the rows cannot support them."""
    z, y = _logit(p), np.asarray(y, dtype=float)
    if len(y) < MIN_ROWS or y.min() == y.max():
        return None

    def nll(theta: np.ndarray) -> tuple[float, np.ndarray]:
        a, b = theta
        s = a * z + b
        # log(1 + exp(s)) - y * s, and its gradient, without overflow
        loss = np.logaddexp(0.0, s) - y * s
        q = 1.0 / (1.0 + np.exp(-s))
        return float(loss.sum()), np.array([float(((q - y) * z).sum()), float((q - y).sum())])

    result = optimize.minimize(nll, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B", bounds=[(1e-3, 20.0), (-20, 20)])
    a, b = (float(v) for v in result.x)
    return {"method": "platt", "a": a, "b": b, "rows": int(len(y))}  # type: ignore[dict-item]


def apply(p: np.ndarray, params: dict[str, float] | None) -> np.ndarray:
    """The calibrated probability (the score unchanged without parameters)."""
    if not params:
        return np.asarray(p, dtype=float)
    s = float(params["a"]) * _logit(p) + float(params["b"])
    return 1.0 / (1.0 + np.exp(-s))
