"""Write one trained model as a registry version: model, metadata, metrics, evaluation rows and the report."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from ml import evaluation_report, registry, train
from ml.config import MLConfig
from ml.dataset import Dataset
from ml.evaluate import MAIN_METRIC, Comparison
from ml.features import Feature, design_matrix

log = logging.getLogger(__name__)
REASON_CHECK_ROWS = 2000


def _label_columns(model: str) -> list[str]:
    if model in train.SURVIVAL:
        return ["label_time", "label_event", "follow_up_days"]
    return ["label_churn"] if model == "churn_risk" else ["label_revenue"]


def _keys(model: str) -> list[str]:
    return (
        ["customer_id", "category", "as_of_date"]
        if model == "next_purchase_category"
        else ["customer_id", "as_of_date"]
    )


def reason_agreement(booster: Any, frame: pd.DataFrame, spec: list[Feature], nthread: int) -> dict[str, float]:
    """How often the fast path attribution (approx_contribs) names the same top reason as exact TreeSHAP."""
    import xgboost as xgb

    sample = frame.iloc[: min(len(frame), REASON_CHECK_ROWS)]
    if sample.empty:
        return {}
    matrix = xgb.DMatrix(design_matrix(sample, spec), enable_categorical=True, nthread=nthread)
    exact = booster.predict(matrix, pred_contribs=True)[:, :-1]
    approx = booster.predict(matrix, pred_contribs=True, approx_contribs=True)[:, :-1]
    top_exact = np.argsort(-np.abs(exact), axis=1)[:, :3]
    top_approx = np.argsort(-np.abs(approx), axis=1)[:, :3]
    overlap = np.mean([len(set(a) & set(b)) / 3 for a, b in zip(top_exact, top_approx, strict=True)])
    return {
        "rows": int(len(sample)),
        "top1_agreement": float(np.mean(top_exact[:, 0] == top_approx[:, 0])),
        "top3_overlap": float(overlap),
    }


def write_version(
    *,
    cfg: MLConfig,
    model: str,
    run_date: date,
    ds: Dataset,
    chosen: str,
    choice_reason: str,
    spec: list[Feature],
    fitted: train.Fitted,
    validation: dict[str, dict],
    results: dict[str, dict[str, float]],
    comparison: Comparison,
    notes: dict[str, Any],
    eval_rows: pd.DataFrame,
    predictions: dict[str, dict[str, np.ndarray]],
    train_rows: pd.DataFrame,
    seconds: float,
    served: tuple[Any, int] | None = None,
    blend: dict[str, Any] | None = None,
) -> str:
    """``served``: the booster refitted on every window up to the evaluation cut-off and its row count; it is
    ``model.json`` (what scores), and the evaluated fit is ``model_evaluated.json`` (what promotion compares)."""
    keys, labels = _keys(model), _label_columns(model)
    feature_names = [f.name for f in spec]
    digest = registry.fingerprint(
        train_rows[keys + feature_names + labels],
        eval_rows[keys + feature_names + labels],
        [f.as_dict() for f in spec],
        train.booster_params(model, cfg, spec),
        fitted.rounds,
        fitted.sigma,
        registry.library_versions(),
    )
    version = registry.make_version(ds.split.eval_cutoff, digest)
    staging = registry.staging_dir(cfg, model)
    if served is None:
        fitted.booster.save_model(str(staging / "model.json"))
    else:
        fitted.booster.save_model(str(staging / "model_evaluated.json"))
        served[0].save_model(str(staging / "model.json"))
    agreement = reason_agreement(fitted.booster, eval_rows, spec, cfg.nthread)
    notes = {**notes, "reason_codes": agreement}
    metadata = {
        "model": model,
        "version": version,
        "run_date": run_date.isoformat(),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_seconds": round(seconds, 1),
        "features": [f.as_dict() for f in spec],
        "feature_set": chosen,
        "feature_set_reason": choice_reason,
        "params": train.booster_params(model, cfg, spec),
        "rounds": fitted.rounds,
        "aft_sigma": fitted.sigma,
        "horizon_days": cfg.horizon_days,
        "windows_days": list(train.WINDOWS.get(model, ())),
        "training_window": {
            **ds.split.as_dict(),
            "train_rows": int(len(train_rows)),
            "customer_sample_per_10k": ds.sample_per_10k,
            "eval_rows": int(len(eval_rows)),
        },
        "data_fingerprint": digest,
        "library_versions": registry.library_versions(),
        "bgnbd_params_by_cutoff": ds.bgnbd_params,
        "served_fit": {
            "cutoffs": [*ds.split.as_dict()["train_cutoffs"], ds.split.as_dict()["eval_cutoff"]],
            "rows": served[1],
        }
        if served
        else None,
        "validation": validation,
        "blend": blend,  # ml.blend: the baseline averaged into every prediction of this version, or None
    }
    metrics = {
        "model": model,
        "version": version,
        "main_metric": MAIN_METRIC[model],
        "comparison": {
            **comparison.__dict__,
            "beats_every_baseline": comparison.beats,
            "measurable": comparison.measurable,
        },
        "results": results,
        "notes": notes,
    }
    registry.write_json(staging / "metadata.json", metadata)
    registry.write_json(staging / "metrics.json", _finite(metrics))
    eval_rows[keys + list(dict.fromkeys(_eval_columns(eval_rows))) + labels].to_parquet(staging / "eval.parquet")
    evaluation_report.write_report(
        staging, model, version, metadata, metrics, eval_rows, predictions, fitted.booster, spec
    )
    path = registry.publish(cfg, model, version, staging)
    log.info("%s: wrote version %s to %s", model, version, path)
    return version


def _eval_columns(frame: pd.DataFrame) -> list[str]:
    skip = {
        "customer_id",
        "category",
        "as_of_date",
        "label_time",
        "label_event",
        "follow_up_days",
        "label_churn",
        "label_revenue",
    }
    return [c for c in frame.columns if c not in skip]


def _finite(value: Any) -> Any:
    """JSON has no NaN: write null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def read_metrics(path: Any) -> dict[str, Any]:
    return json.loads((path / "metrics.json").read_text(encoding="utf-8"))
