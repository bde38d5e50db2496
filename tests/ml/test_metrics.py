"""Metric code against brute force and hand-computed cases (no database)."""

from __future__ import annotations

import numpy as np
import pytest

from ml.baselines import km_curve
from ml.evaluate import binary_metrics, concordance_index, lift_curve, value_metrics


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
