"""A blend of the model with one baseline, its weight chosen on the validation rows (never on the evaluation rows).

On sparse real data a smooth baseline (BG/NBD above all) often ranks customers as well as the trees, and their errors
differ: a weighted mean of the two predictions, on the scale both already share (a churn probability, expected
revenue), is then better than either. The model's weight runs from 1 (the model alone) down to ``STEP``, never 0 (the
baseline alone is a candidate of its own in promotion); ties go to the larger model weight. Only churn and value
blend: the survival models' outputs (log-time locations against P(no order)) have no common scale to average on.

The choice is stored in the version's metadata (``blend``, with the churn probability's calibration fitted on the
same rows after the blend: ``ml.calibration``) and applied wherever the model predicts: evaluation,
promotion and the nightly scores, with the baseline's state stored beside the version (``ml.serving``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ml import calibration
from ml.evaluate import MAIN_METRIC, metrics_for

BLENDED = {"churn_risk": "p", "value_90d": "value"}  # model -> the output the blend averages
STEP = 0.1


def blends(model: str) -> bool:
    return model in BLENDED


def combine(model: str, model_out: dict[str, np.ndarray], base_out: dict[str, np.ndarray], weight: float) -> dict:
    key = BLENDED[model]
    mixed = weight * np.asarray(model_out[key], dtype=float) + (1.0 - weight) * np.asarray(base_out[key], dtype=float)
    return {**model_out, key: mixed}


def choose(
    model: str,
    valid: pd.DataFrame,
    model_out: dict[str, np.ndarray],
    baseline_outs: dict[str, dict[str, np.ndarray]],
    min_gain: float = 0.0,
) -> dict[str, Any]:
    """The (baseline, weight) with the best main metric on ``valid``; the model alone unless that beats it by
    ``min_gain`` (on Ta-Feng and the grocery log, gains under the promotion margin on validation did not hold up
    on the evaluation cut-off: a blend must earn its place as a model must)."""
    metric = MAIN_METRIC[model]
    alone = float(metrics_for(model, valid, model_out)[metric])
    best: dict[str, Any] = {"method": None, "weight": 1.0, "metric": alone, "model_alone": alone}
    weights = np.round(np.arange(1.0 - STEP, STEP / 2, -STEP), 2)  # descending: ties keep more of the model
    for method, base_out in baseline_outs.items():
        for weight in weights:
            value = float(metrics_for(model, valid, combine(model, model_out, base_out, float(weight)))[metric])
            if np.isfinite(value) and value > best["metric"] + 1e-9:
                best = {**best, "method": method, "weight": float(weight), "metric": value}
    if best["method"] is not None and best["metric"] < alone + min_gain:
        best = {**best, "method": None, "weight": 1.0, "metric": alone, "not_enough": min_gain}
    best["baselines_alone"] = {m: float(metrics_for(model, valid, out)[metric]) for m, out in baseline_outs.items()}
    return best


def apply(
    model: str,
    blend: dict[str, Any] | None,
    model_out: dict[str, np.ndarray],
    base_out: dict[str, np.ndarray] | None,
) -> dict[str, np.ndarray]:
    """The served prediction: the model's own, mixed with the baseline when there is a blend, then calibrated when
    the version carries a calibration (``ml.calibration``, churn only)."""
    if not blend:
        return model_out
    out = model_out
    if blend.get("method") is not None and base_out is not None:
        out = combine(model, model_out, base_out, float(blend["weight"]))
    if model == "churn_risk" and blend.get("calibration"):
        out = {**out, "p": calibration.apply(out["p"], blend["calibration"])}
    return out
