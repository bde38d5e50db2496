"""Held-out metrics, the same functions for the models and for every baseline.

Conventions: a churn score is a probability of churning; a time score is a predicted number of days (larger =
later); a value score is expected revenue. ``MAIN_METRIC`` names the metric promotion and the report rank by;
all of them are "higher is better".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from ml.config import MIN_EVALUATION_EVENTS

MAIN_METRIC = {
    "churn_risk": "roc_auc",
    "next_purchase": "c_index",
    "value_90d": "spearman",
    "next_purchase_category": "c_index",
}
# What ml.config.MIN_EVALUATION_EVENTS counts, per model: the events the main metric separates.
EVENT_NOUNS = {
    "churn_risk": "customers in the minority class (churned or stayed)",
    "next_purchase": "observed repurchases",
    "next_purchase_category": "observed repurchases",
    "value_90d": "customers with revenue",
}
METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "top_decile_lift": "top-decile lift",
    "top_decile_capture": "top-decile capture",
    "brier": "Brier score (lower is better)",
    "c_index": "concordance index",
    "median_abs_error_days": "median abs. error, days (observed events; lower is better)",
    "auc_order_14d": "ROC AUC, order within 14 days",
    "auc_order_30d": "ROC AUC, order within 30 days",
    "brier_order_30d": "Brier, order within 30 days (lower is better)",
    "spearman": "Spearman correlation",
    "top_decile_revenue_capture": "top-decile revenue capture",
    "auc_any_purchase": "ROC AUC, any order in horizon",
}


def _top_decile(score: np.ndarray) -> np.ndarray:
    """The 10 % highest scores (ties broken by position, so the group has exactly ceil(n/10) rows)."""
    n = len(score)
    k = max(1, int(np.ceil(n / 10)))
    order = np.argsort(-score, kind="stable")
    mask = np.zeros(n, dtype=bool)
    mask[order[:k]] = True
    return mask


def binary_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    top = _top_decile(p)
    base_rate = y.mean()
    both = 0 < base_rate < 1
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "top_decile_lift": float(y[top].mean() / base_rate) if base_rate > 0 else float("nan"),
        "top_decile_capture": float(y[top].sum() / y.sum()) if y.sum() > 0 else float("nan"),
        "brier": float(brier_score_loss(y, np.clip(p, 0, 1))),
        "base_rate": float(base_rate),
        "positives": int(y.sum()),
        "n": int(len(y)),
    }


def calibration_curve(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean predicted, observed rate, rows) per decile of the prediction."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    out = []
    for part in np.array_split(order, bins):
        if len(part):
            out.append((float(p[part].mean()), float(y[part].mean()), int(len(part))))
    return out


def lift_curve(y: np.ndarray, score: np.ndarray, points: int = 20) -> list[tuple[float, float]]:
    """(share of customers targeted, share of positives captured), targeting the highest scores first."""
    y = np.asarray(y, dtype=float)
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    captured = np.cumsum(y[order]) / max(y.sum(), 1e-12)
    n = len(y)
    return [(k / points, float(captured[max(0, int(np.ceil(n * k / points)) - 1)])) for k in range(1, points + 1)]


def concordance_index(time: np.ndarray, event: np.ndarray, predicted_time: np.ndarray) -> float:
    """Harrell's C for right-censored times: among pairs where the earlier time is an observed event, the share
    in which the earlier one also has the shorter predicted time (ties in prediction count half).

    Times are grouped by value (days), so the cost is O(distinct times x n) without a Python loop over rows.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    ranks = stats.rankdata(np.asarray(predicted_time, dtype=float), method="dense").astype(np.int64) - 1
    counts = np.zeros(ranks.max() + 1 if len(ranks) else 1, dtype=np.int64)
    concordant = tied = comparable = 0.0
    for t in np.unique(time)[::-1]:
        at_t = time == t
        censored_here = at_t & ~event
        np.add.at(counts, ranks[censored_here], 1)  # censored at t outlive events at t
        events_here = ranks[at_t & event]
        if len(events_here):
            cum = np.cumsum(counts)
            total = cum[-1]
            below_or_equal = cum[events_here]
            equal = counts[events_here]
            concordant += float(np.sum(total - below_or_equal))
            tied += float(np.sum(equal))
            comparable += float(total) * len(events_here)
        np.add.at(counts, events_here, 1)
    return (concordant + 0.5 * tied) / comparable if comparable else float("nan")


def survival_metrics(
    time: np.ndarray,
    event: np.ndarray,
    rank: np.ndarray,
    predicted_days: np.ndarray,
    p_within: dict[int, np.ndarray],
) -> dict[str, float]:
    """``time`` = days to the next order (event) or follow-up days (censored); ``rank`` orders customers from
    soonest to latest expected order (any monotone scale); ``p_within`` = P(order within k days)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    out: dict[str, float] = {
        "c_index": concordance_index(time, event, rank),
        "median_abs_error_days": float(np.median(np.abs(np.asarray(predicted_days)[event] - time[event])))
        if event.any()
        else float("nan"),
        "event_rate": float(event.mean()),
        "events": int(event.sum()),
        "n": int(len(time)),
    }
    for days, p in sorted(p_within.items()):
        observed = event & (time <= days)
        known = observed | (time >= days)  # follow-up reached k days or the order came before
        y = observed[known].astype(float)
        if 0 < y.mean() < 1:
            out[f"auc_order_{days}d"] = float(roc_auc_score(y, np.asarray(p)[known]))
            out[f"brier_order_{days}d"] = float(brier_score_loss(y, np.clip(np.asarray(p)[known], 0, 1)))
    return out


def value_metrics(revenue: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    revenue = np.asarray(revenue, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    top = _top_decile(predicted)
    buyer = (revenue > 0).astype(float)
    return {
        "spearman": float(stats.spearmanr(revenue, predicted).statistic),
        "top_decile_revenue_capture": float(revenue[top].sum() / revenue.sum()) if revenue.sum() > 0 else float("nan"),
        "auc_any_purchase": float(roc_auc_score(buyer, predicted)) if 0 < buyer.mean() < 1 else float("nan"),
        "mean_abs_error": float(np.mean(np.abs(revenue - predicted))),
        "total_actual": float(revenue.sum()),
        "total_predicted": float(predicted.sum()),
        "buyers": int(buyer.sum()),
        "n": int(len(revenue)),
    }


def metrics_for(model_name: str, frame: pd.DataFrame, out: dict[str, np.ndarray]) -> dict[str, float]:
    """The metrics of one set of predictions (model or baseline) against the frame's labels."""
    if model_name == "churn_risk":
        return binary_metrics(frame["label_churn"].to_numpy(), out["p"])
    if model_name == "value_90d":
        return value_metrics(frame["label_revenue"].to_numpy(), out["value"])
    time_ = frame["label_time"].to_numpy(dtype=float)
    event = frame["label_event"].to_numpy(dtype=bool)
    p_within = {int(k[2:-1]): v for k, v in out.items() if k.startswith("p_") and k.endswith("d")}
    return survival_metrics(time_, event, out["rank"], out["days"], p_within)


def evaluation_events(model_name: str, metrics: dict[str, float]) -> int | None:
    """How many events the main metric rests on (``EVENT_NOUNS``); None for metrics recorded without the counts."""
    if model_name == "churn_risk":
        if "positives" not in metrics:
            return None
        return int(min(metrics["positives"], metrics["n"] - metrics["positives"]))
    key = "buyers" if model_name == "value_90d" else "events"
    return int(metrics[key]) if key in metrics else None


def not_measurable_reason(model_name: str, events: int | None, minimum: int = MIN_EVALUATION_EVENTS) -> str | None:
    """Why a comparison on these evaluation rows decides nothing, or None when it has enough events."""
    if events is None or events >= minimum:
        return None
    return (
        f"not measurable: the evaluation window holds {events} {EVENT_NOUNS[model_name]}, fewer than the minimum "
        f"of {minimum} (ml.promotion.min_evaluation_events)"
    )


@dataclass(frozen=True)
class Comparison:
    """A main metric for the model and the best baseline on the same rows, and the events it rests on."""

    metric: str
    model: float
    best_baseline: str
    baseline: float
    events: int | None = None
    min_events: int = MIN_EVALUATION_EVENTS

    @property
    def beats(self) -> bool:
        return bool(np.isfinite(self.model) and (not np.isfinite(self.baseline) or self.model > self.baseline))

    @property
    def measurable(self) -> bool:
        return self.events is None or self.events >= self.min_events


def compare(
    model_name: str,
    results: dict[str, dict[str, float]],
    model_key: str = "xgboost",
    min_events: int = MIN_EVALUATION_EVENTS,
) -> Comparison:
    metric = MAIN_METRIC[model_name]
    baselines = {k: v[metric] for k, v in results.items() if k != model_key and not k.startswith("xgboost")}
    finite = {k: v for k, v in baselines.items() if np.isfinite(v)}
    best = max(finite, key=finite.__getitem__) if finite else "none"
    events = evaluation_events(model_name, results[model_key])
    return Comparison(metric, results[model_key][metric], best, finite.get(best, float("nan")), events, min_events)
