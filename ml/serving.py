"""Which method serves a model's nightly scores, and the baselines that can serve them.

The champion is the best method measured, baselines included: ``ml.promotion`` writes ``serving.json`` in the
model's folder naming ``xgboost`` (the version ``champion.json`` points to) or a baseline with the trained version
whose evaluation it won. That version's ``baselines.json`` holds every baseline as fitted in its training run
(recency and RFM fitted on the training cut-offs, BG/NBD and Gamma-Gamma on the evaluation cut-off's history), so
the baseline that serves is the one that was measured. At scoring time BG/NBD for the customer models is refitted
on tonight's history (it needs no labels); the fixed rules serve only when nothing was fitted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ml import baselines, blend, btyd_baseline, registry, train
from ml.bgnbd import BGNBDParams
from ml.config import MLConfig

SERVING = "serving.json"
BASELINES = "baselines.json"
GROUPED = ("recency", "rfm")


def baseline_methods(model: str) -> tuple[str, ...]:
    return (*GROUPED, *btyd_baseline.methods(model), "rules")


def fit_baselines(
    model: str, train_rows: pd.DataFrame, eval_rows: pd.DataFrame, cfg: MLConfig
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, Any]]:
    """Every baseline fitted as it would serve, and its predictions on the evaluation rows (the model's rows)."""
    windows = train.WINDOWS.get(model, ())
    max_t = int(train_rows["follow_up_days"].max()) if model in train.SURVIVAL else 0
    states: dict[str, Any] = {
        "recency": baselines.RecencyBaseline(model, windows, max_t).fit(train_rows).state(),
        "rfm": baselines.RFMBaseline(model, windows, max_t).fit(train_rows).state(),
        "btyd": btyd_baseline.fit_state(model, eval_rows),
    }
    preds = {name: predict(model, name, eval_rows, states, cfg) for name in baseline_methods(model)}
    return preds, states


def predict(
    model: str,
    method: str,
    frame: pd.DataFrame,
    states: dict[str, Any],
    cfg: MLConfig,
    bgnbd_now: BGNBDParams | None = None,
) -> dict[str, np.ndarray]:
    """A baseline's outputs for ``frame``; ``bgnbd_now`` replaces the stored BG/NBD fit (customer models)."""
    windows = train.WINDOWS.get(model, ())
    if method in GROUPED:
        return baselines.GroupedBaseline.from_state(states[method]).predict(frame)
    if method == "rules":
        return baselines.rules_predict(model, frame, cfg.horizon_days, windows)
    if method in btyd_baseline.methods(model):
        state = states["btyd"]
        if bgnbd_now is not None:
            state = {**state, "bgnbd": bgnbd_now.as_dict()}
        return btyd_baseline.predict(model, method, frame, state, cfg.horizon_days, windows)
    raise ValueError(f"{model}: unknown baseline {method!r} (known: {', '.join(baseline_methods(model))})")


def blended(
    cfg: MLConfig,
    version: registry.ModelVersion,
    frame: pd.DataFrame,
    out: dict[str, np.ndarray],
    bgnbd_now: BGNBDParams | None = None,
    states: dict[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """The version's predictions with its blend (``ml.blend``) and calibration applied: the baseline as stored with
    the version."""
    chosen = version.metadata.get("blend")
    if not chosen:
        return out
    if chosen.get("method") is None:  # no baseline mixed in; a calibration may still apply
        return blend.apply(version.model, chosen, out, None)
    states = states if states is not None else load_states(cfg, version.model, version.version)
    base = predict(version.model, str(chosen["method"]), frame, states, cfg, bgnbd_now)
    return blend.apply(version.model, chosen, out, base)


def write_states(cfg: MLConfig, model: str, version: str, states: dict[str, Any]) -> None:
    registry.write_json(registry.model_dir(cfg, model) / version / BASELINES, states)


def load_states(cfg: MLConfig, model: str, version: str) -> dict[str, Any]:
    path = registry.model_dir(cfg, model) / version / BASELINES
    if not path.exists():
        raise registry.RegistryError(f"{model} {version}: {path} is missing; retrain with `python -m ml train`")
    return json.loads(path.read_text(encoding="utf-8"))


def read(cfg: MLConfig, model: str) -> dict[str, Any] | None:
    """What serves the model (method, version, reason, decided_at), or None before any decision."""
    path = registry.model_dir(cfg, model) / SERVING
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def write(cfg: MLConfig, model: str, method: str, version: str, reason: str) -> dict[str, Any]:
    payload = {
        "method": method,
        "version": version,
        "reason": reason,
        "decided_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    registry.write_json(registry.model_dir(cfg, model) / SERVING, payload)
    return payload
