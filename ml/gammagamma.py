"""Gamma-Gamma spend per order (Fader, Hardie & Lee 2005, "RFM and CLV") by maximum likelihood, numpy/scipy only.

Fitted on customers with at least one repeat purchase (x > 0) and a positive mean order value m_x; every customer
gets the posterior mean spend E[M | x, m_x] = p (gamma + x m_x) / (p x + q - 1), which for x = 0 is the
population mean p gamma / (q - 1). With the spend model and ``ml.bgnbd``'s expected purchases, the 90-day value
baseline is expected purchases x expected spend: the classic BTYD customer value, no label window needed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize, special

MIN_REPEAT_CUSTOMERS = 20  # fewer customers with repeat purchases than this: spend is each customer's own mean


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float
    converged: bool = True
    n_customers: int = 0

    def as_dict(self) -> dict[str, float | bool | int]:
        return asdict(self)


def _loglik(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    p, q, gamma = params
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(x * m + gamma)
    )


def fit(frequency: np.ndarray, mean_value: np.ndarray) -> GammaGammaParams | None:
    """Maximum likelihood on customers with x > 0 and m_x > 0; None when too few such customers exist."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(mean_value, dtype=float)
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    x, m = x[keep], m[keep]
    if len(x) < MIN_REPEAT_CUSTOMERS:
        return None
    scale = float(np.median(m))

    def neg_ll(log_params: np.ndarray) -> float:
        value = -np.mean(_loglik(np.exp(log_params), x, m))
        return float(value) if np.isfinite(value) else 1e10

    start = np.log([1.0, 2.0, scale])  # q > 1 keeps the population mean finite from the first step
    bounds = [(-6.0, 6.0), (np.log(1.0001), 8.0), (-9.0, 20.0)]
    result = optimize.minimize(neg_ll, start, method="L-BFGS-B", bounds=bounds)
    p, q, gamma = np.exp(result.x)
    return GammaGammaParams(float(p), float(q), float(gamma), bool(result.success), int(len(x)))


def expected_spend(params: GammaGammaParams | None, frequency: np.ndarray, mean_value: np.ndarray) -> np.ndarray:
    """E[spend per order | x, m_x]; without a fit, each customer's own mean order value."""
    x = np.asarray(frequency, dtype=float)
    m = np.nan_to_num(np.asarray(mean_value, dtype=float), nan=0.0)
    if params is None:
        return np.maximum(m, 0.0)
    p, q, gamma = params.p, params.q, params.gamma
    return p * (gamma + x * np.maximum(m, 0.0)) / (p * x + q - 1.0)
