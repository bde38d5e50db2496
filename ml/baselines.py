"""What the models must beat, fitted on the same training cut-offs and scored on the same evaluation rows.

* ``recency``: days since the last purchase only (isotonic fit for churn and value, Kaplan-Meier per recency
  decile for time to next order);
* ``rfm``: recency x frequency x monetary quintile cells (cell rates shrunk towards the overall rate);
* ``rules``: the cold-start fallback, fitted on nothing (a customer orders every ``typical gap`` days);
* ``bgnbd`` (in ``ml.btyd_baseline``): BG/NBD and Gamma-Gamma, fitted by the project's own code.

``state()`` / ``from_state()`` keep a fitted recency or RFM baseline as JSON with the version, so the baseline
that wins the evaluation can serve the nightly scores.

Each returns a dict of arrays: ``p`` (churn), ``value`` (90-day revenue) or, for the survival models, ``days``
(predicted median days), ``rank`` (a "later is larger" ordering for the concordance index) and ``p_<k>d``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from ml.train import MAX_DAYS, SURVIVAL

SHRINK_ROWS = 20.0  # pseudo-rows pulling a small RFM cell towards the overall rate
DEFAULT_GAP_DAYS = 45.0  # the rules' gap for a customer with a single purchase day


@dataclass(frozen=True)
class Grain:
    recency: str
    frequency: str
    monetary: str


CUSTOMER = Grain("hist_days_since_last", "hist_frequency", "hist_mean_value")
CATEGORY = Grain("cat_days_since_last", "cat_purchases", "cat_mean_value")


def grain_of(model_name: str) -> Grain:
    return CATEGORY if model_name == "next_purchase_category" else CUSTOMER


def with_grain_columns(frame: pd.DataFrame) -> pd.DataFrame:
    if "cat_revenue" in frame and "cat_mean_value" not in frame:
        frame = frame.assign(cat_mean_value=frame["cat_revenue"] / frame["cat_purchases"].clip(lower=1))
    return frame


def km_curve(time_: np.ndarray, event: np.ndarray, max_t: int) -> np.ndarray:
    """Kaplan-Meier survival S(t) for integer days t = 0..max_t."""
    t = np.clip(np.round(time_).astype(int), 0, max_t + 1)
    deaths = np.bincount(t[event], minlength=max_t + 2)[: max_t + 1]
    exits = np.bincount(t, minlength=max_t + 2)
    at_risk = len(t) - np.concatenate([[0], np.cumsum(exits)[:-1]])[: max_t + 1]
    hazard = np.where(at_risk > 0, deaths / np.maximum(at_risk, 1), 0.0)
    return np.cumprod(1.0 - hazard)


def survival_summary(curve: np.ndarray, windows: tuple[int, ...]) -> dict[str, float]:
    below = np.flatnonzero(curve <= 0.5)
    out = {
        "days": float(below[0]) if len(below) else MAX_DAYS,
        "rank": float(curve.sum()),  # restricted mean survival time: a smooth "how late" ordering
    }
    for days in windows:
        out[f"p_{days}d"] = float(1.0 - curve[min(days, len(curve) - 1)])
    return out


def _quantile_bins(train: np.ndarray, bins: int) -> np.ndarray:
    edges = np.unique(np.nanquantile(train, np.linspace(0, 1, bins + 1)[1:-1]))
    return edges


def _digitize(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges, np.nan_to_num(values, nan=-1.0), side="right")


class GroupedBaseline:
    """Targets averaged per group of the training rows; survival curves per group (shrunk to the overall)."""

    def __init__(self, model_name: str, windows: tuple[int, ...], max_t: int) -> None:
        self.model_name = model_name
        self.windows = windows
        self.max_t = max_t
        self.table: dict[int, dict[str, float]] = {}
        self.overall: dict[str, float] = {}
        self.edges: Any = None
        self.iso: Any = None

    def groups(self, frame: pd.DataFrame) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """The fitted baseline as JSON-able values (see ``from_state``)."""
        edges = self.edges if isinstance(self.edges, list) else [self.edges]
        out: dict[str, Any] = {
            "kind": type(self).__name__,
            "model_name": self.model_name,
            "windows": list(self.windows),
            "max_t": self.max_t,
            "edges": [np.asarray(e, dtype=float).tolist() for e in edges],
            "table": {str(k): v for k, v in self.table.items()},
            "overall": self.overall,
        }
        iso = getattr(self, "iso", None)
        if iso is not None:
            out["isotonic"] = [iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist()]
        return out

    @staticmethod
    def from_state(state: dict[str, Any]) -> GroupedBaseline:
        kind = {"RecencyBaseline": RecencyBaseline, "RFMBaseline": RFMBaseline}[state["kind"]]
        baseline = kind(state["model_name"], tuple(state["windows"]), int(state["max_t"]))
        edges = [np.asarray(e, dtype=float) for e in state["edges"]]
        baseline.edges = edges if kind is RFMBaseline else edges[0]
        baseline.table = {int(k): v for k, v in state["table"].items()}
        baseline.overall = state["overall"]
        if "isotonic" in state:
            baseline.iso = _Interpolated(*state["isotonic"])
        return baseline

    def fit(self, train: pd.DataFrame) -> GroupedBaseline:
        train = with_grain_columns(train)
        keys = self.groups_fit(train)
        if self.model_name in SURVIVAL:
            overall_curve = km_curve(train["label_time"].to_numpy(), train["label_event"].to_numpy(bool), self.max_t)
            self.overall = survival_summary(overall_curve, self.windows)
            for key in np.unique(keys):
                rows = keys == key
                curve = km_curve(
                    train.loc[rows, "label_time"].to_numpy(), train.loc[rows, "label_event"].to_numpy(bool), self.max_t
                )
                n = rows.sum()
                shrunk = (n * curve + SHRINK_ROWS * overall_curve) / (n + SHRINK_ROWS)
                self.table[int(key)] = survival_summary(shrunk, self.windows)
        else:
            target = train["label_churn"] if self.model_name == "churn_risk" else train["label_revenue"]
            target = target.to_numpy(dtype=float)
            mean = float(target.mean())
            self.overall = {"value": mean}
            for key in np.unique(keys):
                rows = keys == key
                n = rows.sum()
                self.table[int(key)] = {"value": float((target[rows].sum() + SHRINK_ROWS * mean) / (n + SHRINK_ROWS))}
        return self

    def groups_fit(self, train: pd.DataFrame) -> np.ndarray:
        return self.groups(train)

    def predict(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        frame = with_grain_columns(frame)
        keys = pd.Series(self.groups(frame))
        out = {
            f: keys.map({k: v[f] for k, v in self.table.items()}).fillna(self.overall[f]).to_numpy(dtype=float)
            for f in self.overall
        }
        if self.model_name == "churn_risk":
            return {"p": out["value"]}
        if self.model_name == "value_90d":
            return {"value": out["value"]}
        return out


class _Interpolated:
    """A stored isotonic fit: IsotonicRegression(out_of_bounds="clip").predict is linear interpolation."""

    def __init__(self, x: list[float], y: list[float]) -> None:
        self.X_thresholds_ = np.asarray(x, dtype=float)
        self.y_thresholds_ = np.asarray(y, dtype=float)

    def predict(self, values: np.ndarray) -> np.ndarray:
        return np.interp(values, self.X_thresholds_, self.y_thresholds_)


class RecencyBaseline(GroupedBaseline):
    """Recency only: isotonic in days since the last purchase (churn, value); KM per recency decile (time)."""

    def fit(self, train: pd.DataFrame) -> RecencyBaseline:
        train = with_grain_columns(train)
        recency = train[grain_of(self.model_name).recency].to_numpy(dtype=float)
        self.edges = _quantile_bins(recency, 10)
        if self.model_name in SURVIVAL:
            super().fit(train)
            return self
        target = train["label_churn"] if self.model_name == "churn_risk" else train["label_revenue"]
        self.iso = IsotonicRegression(increasing="auto", out_of_bounds="clip").fit(recency, target.to_numpy(float))
        return self

    def groups(self, frame: pd.DataFrame) -> np.ndarray:
        return _digitize(frame[grain_of(self.model_name).recency].to_numpy(dtype=float), self.edges)

    def predict(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        if self.model_name in SURVIVAL:
            return super().predict(frame)
        frame = with_grain_columns(frame)
        value = self.iso.predict(frame[grain_of(self.model_name).recency].to_numpy(dtype=float))
        return {"p": value} if self.model_name == "churn_risk" else {"value": value}


class RFMBaseline(GroupedBaseline):
    """Recency, frequency and monetary quintiles (125 cells) with cell averages from the training rows."""

    def groups_fit(self, train: pd.DataFrame) -> np.ndarray:
        grain = grain_of(self.model_name)
        self.edges = [
            _quantile_bins(train[c].to_numpy(dtype=float), 5) for c in (grain.recency, grain.frequency, grain.monetary)
        ]
        return self.groups(train)

    def groups(self, frame: pd.DataFrame) -> np.ndarray:
        grain = grain_of(self.model_name)
        r, f, m = (
            _digitize(frame[c].to_numpy(dtype=float), e)
            for c, e in zip((grain.recency, grain.frequency, grain.monetary), self.edges, strict=True)
        )
        return r * 100 + f * 10 + m


def typical_gap(frame: pd.DataFrame, default_gap: float = DEFAULT_GAP_DAYS) -> np.ndarray:
    freq = frame["hist_frequency"].to_numpy(dtype=float)
    span = frame["hist_recency"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(freq > 0, span / np.maximum(freq, 1), default_gap)
    return np.maximum(gap, 1.0)


def rules_predict(
    model_name: str, frame: pd.DataFrame, horizon: int, windows: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """The cold-start rules: no fitting, only the customer's own rhythm.

    A customer is expected to order every g days (their mean gap between purchase days, 45 with a single one).
    They count as active while the last purchase is within 1.5 g, then fade as (1.5 g / days since)^2. Orders
    arrive as a Poisson process of rate 1/g while active. Per consumable category: the last pack runs out after
    use_cycle_days x quantity (or the usual gap), and the reminder is timed to that day.
    """
    if model_name == "next_purchase_category":
        return _category_rules(frame, windows)
    gap = typical_gap(frame)
    since = frame["hist_days_since_last"].to_numpy(dtype=float)
    active = np.where(since <= 1.5 * gap, 1.0, (1.5 * gap / np.maximum(since, 1.0)) ** 2)
    if model_name == "churn_risk":
        return {"p": 1.0 - active * (1.0 - np.exp(-horizon / gap))}
    if model_name == "value_90d":
        return {"value": frame["hist_mean_value"].to_numpy(dtype=float) * active * horizon / gap}
    due = np.maximum(gap - since, 0.0) + 1.0
    days = np.minimum(np.where(active >= 1.0, due, gap / np.maximum(active, 1e-3)), MAX_DAYS)
    out = {"days": days, "rank": days}
    for w in windows:
        out[f"p_{w}d"] = active * (1.0 - np.exp(-w / gap))
    return out


def _category_rules(frame: pd.DataFrame, windows: tuple[int, ...]) -> dict[str, np.ndarray]:
    supply = frame["cat_last_supply_days"].to_numpy(dtype=float)
    gap = frame["cat_mean_gap_days"].to_numpy(dtype=float)
    cycle = np.where(supply > 0, supply, np.where(np.isfinite(gap) & (gap > 0), gap, DEFAULT_GAP_DAYS))
    since = frame["cat_days_since_last"].to_numpy(dtype=float)
    due_in = cycle - since
    # long overdue: probably buying elsewhere now, so the reminder's chance fades like the customer rule's
    active = np.where(since <= 1.5 * cycle, 1.0, (1.5 * cycle / np.maximum(since, 1.0)) ** 2)
    days = np.minimum(np.where(active >= 1.0, np.clip(due_in, 0.0, None) + 1.0, cycle / active), MAX_DAYS)
    spread = 0.15 * cycle + 2.0
    out = {"days": days, "rank": days}
    for w in windows:
        out[f"p_{w}d"] = active * 0.8 / (1.0 + np.exp(-(w - due_in) / spread))
    return out
