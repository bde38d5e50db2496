"""Platt calibration of the churn probability (ml.calibration): level fixed, ranking kept."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ml import blend, calibration


def _overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores twice as sharp as the truth and shifted by -1 on the logit scale (the truth's level is higher)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.2, n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int)
    return 1 / (1 + np.exp(-(2 * z - 1))), y


def test_platt_recovers_the_level_and_keeps_the_ranking_on_fresh_rows():
    p_fit, y_fit = _overconfident(5_000, 1)
    params = calibration.fit(p_fit, y_fit)
    assert params is not None
    assert params["a"] == pytest.approx(0.5, abs=0.1) and params["b"] == pytest.approx(0.5, abs=0.15)
    p, y = _overconfident(5_000, 2)
    fixed = calibration.apply(p, params)
    assert abs(fixed.mean() - y.mean()) < 0.015 < abs(p.mean() - y.mean())
    assert ((fixed - y) ** 2).mean() < ((p - y) ** 2).mean()
    assert stats.spearmanr(fixed, p).statistic == pytest.approx(1.0)


def test_too_few_rows_or_one_class_leave_the_score_as_it_is():
    p, y = _overconfident(calibration.MIN_ROWS - 1, 3)
    assert calibration.fit(p, y) is None
    p, _ = _overconfident(1_000, 4)
    assert calibration.fit(p, np.zeros(len(p), dtype=int)) is None
    assert np.array_equal(calibration.apply(p, None), p)


def test_the_blend_applies_the_calibration_to_churn_only_and_after_the_mix():
    own, base = {"p": np.array([0.2, 0.6])}, {"p": np.array([0.4, 0.8])}
    params = {"method": "platt", "a": 1.0, "b": 1.0, "rows": 500}
    mixed = blend.apply("churn_risk", {"method": "rfm", "weight": 0.5, "calibration": params}, own, base)
    expected = calibration.apply(np.array([0.3, 0.7]), params)
    assert mixed["p"] == pytest.approx(expected)
    alone = blend.apply("churn_risk", {"method": None, "weight": 1.0, "calibration": params}, own, None)
    assert alone["p"] == pytest.approx(calibration.apply(own["p"], params))
    value = {"value": np.array([10.0, 20.0])}
    assert blend.apply("value_90d", {"method": None, "weight": 1.0, "calibration": params}, value, None) is value
