"""The blend of the model with a baseline: chosen on validation rows, applied as stored."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml import blend
from ml.evaluate import metrics_for


def _rows(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Churn that depends on two signals; the 'model' sees one, the 'baseline' the other."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    churn = (a + b + rng.normal(scale=0.5, size=n) > 0).astype(int)
    expit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    return pd.DataFrame({"label_churn": churn}), expit(a), expit(b)


def test_two_partial_signals_blend_to_a_better_score_than_either():
    frame, model_p, base_p = _rows()
    chosen = blend.choose("churn_risk", frame, {"p": model_p}, {"bgnbd": {"p": base_p}, "rules": {"p": 1 - base_p}})
    assert chosen["method"] == "bgnbd" and 0.3 <= chosen["weight"] <= 0.7
    assert chosen["metric"] > max(chosen["model_alone"], *chosen["baselines_alone"].values()) + 0.05
    served = blend.apply("churn_risk", chosen, {"p": model_p}, {"p": base_p})
    assert metrics_for("churn_risk", frame, served)["roc_auc"] == chosen["metric"]
    assert served["p"].min() >= 0 and served["p"].max() <= 1  # still a probability


def test_a_model_that_knows_everything_stays_unblended():
    frame, _, base_p = _rows()
    perfect = frame["label_churn"].to_numpy(float) * 0.8 + 0.1
    chosen = blend.choose("churn_risk", frame, {"p": perfect}, {"bgnbd": {"p": base_p}})
    assert chosen["method"] is None and chosen["weight"] == 1.0
    assert blend.apply("churn_risk", chosen, {"p": perfect}, {"p": base_p})["p"] is perfect


def test_only_churn_and_value_blend():
    assert blend.blends("churn_risk") and blend.blends("value_90d")
    assert not blend.blends("next_purchase") and not blend.blends("next_purchase_category")


def test_a_blend_must_beat_the_model_alone_by_the_minimum_gain():
    frame, model_p, base_p = _rows()
    outs = {"bgnbd": {"p": base_p}}
    gain = blend.choose("churn_risk", frame, {"p": model_p}, outs)
    gain = gain["metric"] - gain["model_alone"]
    assert blend.choose("churn_risk", frame, {"p": model_p}, outs, min_gain=gain * 0.9)["method"] == "bgnbd"
    kept = blend.choose("churn_risk", frame, {"p": model_p}, outs, min_gain=gain * 1.1)
    assert kept["method"] is None and kept["metric"] == kept["model_alone"]
