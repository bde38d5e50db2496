"""Metric code against brute force and hand-computed cases (no database)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.baselines import km_curve
from ml.config import MIN_EVALUATION_EVENTS
from ml.evaluate import (
    binary_metrics,
    compare,
    concordance_index,
    lift_curve,
    metrics_for,
    not_measurable_reason,
    survival_metrics,
    value_metrics,
)


def brute_force_c_index(time, event, predicted):
    concordant = tied = comparable = 0.0
    for i in range(len(time)):
        if not event[i]:
            continue
        for j in range(len(time)):
            if time[j] > time[i] or (time[j] == time[i] and not event[j]):
                comparable += 1
                if predicted[j] > predicted[i]:
                    concordant += 1
                elif predicted[j] == predicted[i]:
                    tied += 1
    return (concordant + 0.5 * tied) / comparable


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_concordance_index_matches_brute_force_with_ties_and_censoring(seed):
    rng = np.random.default_rng(seed)
    time = rng.integers(1, 30, size=300).astype(float)
    event = rng.random(300) < 0.6
    predicted = np.round(time + rng.normal(0, 8, size=300))  # rounded: ties in predictions too
    assert concordance_index(time, event, predicted) == pytest.approx(brute_force_c_index(time, event, predicted))


def test_concordance_index_is_one_for_a_perfect_order_and_zero_for_the_reverse():
    time = np.arange(1, 21, dtype=float)
    event = np.ones(20, dtype=bool)
    assert concordance_index(time, event, time) == 1.0
    assert concordance_index(time, event, -time) == 0.0


def test_top_decile_lift_and_capture():
    y = np.zeros(100)
    y[:5] = y[50:65] = 1.0  # base rate 0.2
    score = np.where(np.arange(100) < 10, 1.0, 0.0)  # top decile = rows 0..9: five positives
    metrics = binary_metrics(y, score)
    assert metrics["top_decile_lift"] == pytest.approx(0.5 / 0.2)
    assert metrics["top_decile_capture"] == pytest.approx(5 / 20)
    assert lift_curve(y, score, points=10)[0] == (0.1, pytest.approx(0.25))


def test_value_metrics_capture_the_revenue_of_the_top_decile():
    revenue = np.r_[np.full(10, 100.0), np.zeros(90)]
    metrics = value_metrics(revenue, revenue + 1)
    assert metrics["top_decile_revenue_capture"] == 1.0
    assert metrics["spearman"] > 0.5


def test_kaplan_meier_without_censoring_is_the_empirical_survival():
    time = np.array([1, 2, 2, 3, 5], dtype=float)
    curve = km_curve(time, np.ones(5, dtype=bool), max_t=5)
    assert curve.tolist() == pytest.approx([1.0, 0.8, 0.4, 0.2, 0.2, 0.0])


def _comparison(model: str, frame: pd.DataFrame, minimum: int = MIN_EVALUATION_EVENTS):
    rng = np.random.default_rng(3)
    n = len(frame)
    outs = {
        "churn_risk": lambda: {"p": rng.random(n)},
        "value_90d": lambda: {"value": rng.random(n)},
        "next_purchase": lambda: {"rank": rng.random(n), "days": rng.random(n) * 30},
    }
    results = {name: metrics_for(model, frame, outs[model]()) for name in ("xgboost", "recency", "bgnbd")}
    return compare(model, results, min_events=minimum)


def test_a_comparison_counts_the_events_its_metric_rests_on():
    n = 500
    one_repurchase = pd.DataFrame({"label_time": np.full(n, 90.0), "label_event": np.zeros(n, dtype=bool)})
    one_repurchase.loc[7, ["label_time", "label_event"]] = [12.0, True]  # Olist's category window: one event
    few_stayers = pd.DataFrame({"label_churn": np.r_[np.zeros(29), np.ones(n - 29)]})  # 29 minority-class rows
    buyers = pd.DataFrame({"label_revenue": np.r_[np.full(30, 25.0), np.zeros(n - 30)]})
    assert _comparison("next_purchase", one_repurchase).events == 1
    assert not _comparison("next_purchase", one_repurchase).measurable
    assert _comparison("churn_risk", few_stayers).events == 29
    assert not _comparison("churn_risk", few_stayers).measurable
    assert _comparison("churn_risk", few_stayers, minimum=29).measurable
    assert _comparison("value_90d", buyers).events == 30 and _comparison("value_90d", buyers).measurable
    reason = not_measurable_reason("next_purchase", 1)
    assert (
        reason is not None
        and "holds 1 observed repurchases" in reason
        and f"minimum of {MIN_EVALUATION_EVENTS}" in reason
    )
    assert not_measurable_reason("value_90d", 30) is None
    assert not_measurable_reason("churn_risk", None) is None  # a version recorded before the counts: as before


def test_the_event_counts_are_in_the_metrics():
    assert binary_metrics(np.array([0, 1, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4]))["positives"] == 3
    time, event = np.array([3.0, 5.0, 9.0]), np.array([True, False, True])
    assert survival_metrics(time, event, time, time, {})["events"] == 2
    assert value_metrics(np.array([0.0, 4.0, 0.0]), np.array([1.0, 2.0, 3.0]))["buyers"] == 1
