"""Train, evaluate and register one model version: what ``python -m ml train`` and the crm_train DAG run.

1. Cold start: too few customers, orders or days of history -> nothing is trained; the reason is recorded in
   ``<models_dir>/<model>/last_training.json`` and scoring uses BG/NBD fitted on the night's history (``ml.score``).
2. Time split (``ml.split``), features as of every cut-off, labels after it, BG/NBD features fitted per cut-off.
3. With / without BG/NBD features: both are fitted with early stopping on the validation cut-off; ``auto`` keeps
   the variant that is better there (never chosen on the evaluation cut-off), and both are reported; churn and
   value may blend in one baseline, weighted on the same validation rows (``ml.blend``); a blended churn
   probability is calibrated on those rows too (``ml.calibration``).
4. Final fits on all training cut-offs, evaluation next to the baselines on the evaluation cut-off, a
   rolling-origin backtest at the earlier cut-offs (``ml.backtest``: the spread, not one number), a registry
   version with its report. Promotion is a separate step (``ml.promotion``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from ml import backtest, bgnbd, blend, calibration, registry, serving, train
from ml.categories import category_spec, load_category_frame
from ml.config import MLConfig
from ml.dataset import Dataset
from ml.evaluate import MAIN_METRIC, compare, metrics_for
from ml.features import (
    Feature,
    add_bgnbd_features,
    build_spec,
    count_snapshots,
    data_stats,
    feature_as_of_dates,
    load_customer_frame,
    warehouse_feature_types,
)
from ml.labels import attach_category_labels, attach_customer_labels, censor_at
from ml.split import InsufficientHistory, TimeSplit, cold_start_reason, plan_split

log = logging.getLogger(__name__)
NO_VALIDATION_ROUNDS = 300  # without a validation cut-off there is no early stopping: a conservative fixed size


@dataclass
class TrainResult:
    model: str
    status: str  # "trained" | "cold_start"
    reason: str | None = None
    version: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        if self.status != "trained":
            return f"{self.model}: not trained (cold start: {self.reason})"
        main = self.metrics.get("comparison", {})
        return (
            f"{self.model}: version {self.version}, {main.get('metric')} {main.get('model', float('nan')):.4f} "
            f"vs {main.get('best_baseline')} {main.get('baseline', float('nan')):.4f}"
        )


def _record_status(
    cfg: MLConfig, model: str, run_date: date, status: str, reason: str | None, version: str | None
) -> None:
    # recorded_at tells a reader (the demo, `ml status`) whether this record is from the run it just started
    registry.write_json(
        registry.model_dir(cfg, model) / registry.LAST_TRAINING,
        {
            "run_date": run_date.isoformat(),
            "status": status,
            "reason": reason,
            "version": version,
            "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )


@contextmanager
def recording_failure(cfg: MLConfig, model: str, run_date: date) -> Iterator[None]:
    """A training that raises is recorded as failed before the error propagates, so the registry never shows an
    earlier run's outcome as this one's (and the failure is not mistaken for a model never trained)."""
    try:
        yield
    except Exception as exc:
        _record_status(cfg, model, run_date, "failed", f"{type(exc).__name__}: {exc}".strip()[:500], None)
        raise


def build_dataset(conn: psycopg.Connection, cfg: MLConfig, model: str, split: TimeSplit) -> Dataset:
    observed = {c: split.eval_cutoff for c in split.train_cutoffs} | {split.eval_cutoff: split.observed_until}
    cutoffs = sorted(observed)
    snapshots = count_snapshots(conn, cfg, cutoffs)
    sample = None
    if snapshots > cfg.max_training_snapshots:  # a stable share of customers keeps memory and time bounded
        sample = max(1, int(10_000 * cfg.max_training_snapshots / snapshots))
        log.info("%s: %s snapshots, training on %.2f%% of customers", model, f"{snapshots:,}", sample / 100)
    if model == "next_purchase_category":
        frame = load_category_frame(conn, cfg, cutoffs, sample)
        if frame.empty:  # xgboost cannot build a matrix of zero rows: say why instead of crashing
            raise InsufficientHistory(
                f"no customer bought a consumable product before the cut-offs ({cfg.tables.products}.is_consumable "
                "is false for every product sold): replenishment timing has nothing to learn from"
            )
        frame = attach_category_labels(conn, cfg, frame, observed, sample)
    else:
        frame = attach_customer_labels(conn, cfg, load_customer_frame(conn, cfg, cutoffs, sample), observed, sample)
    history = frame.drop_duplicates(["customer_id", "as_of_date"])  # BG/NBD is per customer, not per category
    with_bgnbd, params = add_bgnbd_features(history, cfg.horizon_days)
    derived = list(bgnbd.feature_names(cfg.horizon_days))
    frame = frame.merge(with_bgnbd[["customer_id", "as_of_date", *derived]], on=["customer_id", "as_of_date"])
    frame = frame.sort_values([c for c in ("as_of_date", "customer_id", "category") if c in frame]).reset_index(
        drop=True
    )
    if model == "next_purchase_category":
        spec = category_spec(frame, [])
    else:
        spec = build_spec(frame, warehouse_feature_types(conn, cfg), [])
    return Dataset(frame, spec, derived, split, params, sample)


def _variants(ds: Dataset) -> dict[str, list[Feature]]:
    with_spec = ds.base_spec + [Feature(n, "numeric", "derived") for n in ds.derived]
    return {"with_bgnbd": with_spec, "without_bgnbd": ds.base_spec}


HOLDOUT_SHARE = 5  # without a validation cut-off, one customer in five (by a hash of the id) validates


def _validation_rows(ds: Dataset) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(inner training rows, validation rows, how they were chosen).

    The validation cut-off when the history has one; otherwise a stable fifth of the customers at the training
    cut-offs, so early stopping and the blend are still chosen on rows no fit has seen (and never on the
    evaluation cut-off).
    """
    split = ds.split
    if split.validation_cutoff is not None:
        inner = censor_at(ds.rows(split.inner_train_cutoffs), split.validation_cutoff)
        return inner, ds.rows([split.validation_cutoff]), f"validation cut-off {split.validation_cutoff}"
    rows = ds.rows(split.train_cutoffs)
    held = (pd.util.hash_pandas_object(rows["customer_id"].astype(str), index=False) % HOLDOUT_SHARE == 0).to_numpy()
    how = f"no validation cut-off: 1 customer in {HOLDOUT_SHARE} of the training cut-offs held out"
    return rows[~held].reset_index(drop=True), rows[held].reset_index(drop=True), how


def _validate(
    model: str, ds: Dataset, cfg: MLConfig, variants: dict[str, list[Feature]]
) -> tuple[dict[str, dict], dict[str, dict], pd.DataFrame, pd.DataFrame]:
    """Per variant: rounds (early stopping), sigma and the main metric on the validation rows; their predictions."""
    inner, valid, how = _validation_rows(ds)
    out, preds = {}, {}
    for name, spec in variants.items():
        if inner.empty or valid.empty:
            out[name] = {"rounds": NO_VALIDATION_ROUNDS, "sigma": 1.0, "metric": float("nan"), "rows": how}
            continue
        fitted = train.fit(model, inner, spec, cfg, valid=valid)
        sigma = None
        if model in train.SURVIVAL:
            mu = train.outputs(model, fitted.booster, valid, spec, cfg.nthread, 1.0)["rank"]
            sigma = train.calibrate_sigma(mu, valid["label_time"].to_numpy(), valid["label_event"].to_numpy(bool))
        preds[name] = train.outputs(model, fitted.booster, valid, spec, cfg.nthread, sigma)
        out[name] = {
            "rounds": fitted.rounds,
            "sigma": sigma,
            "metric": metrics_for(model, valid, preds[name])[MAIN_METRIC[model]],
            "rows": how,
        }
    return out, preds, inner, valid


def _choose_blend(
    model: str, cfg: MLConfig, valid_preds: dict | None, inner: pd.DataFrame, valid: pd.DataFrame
) -> dict[str, object] | None:
    """The best (baseline, weight) on the validation rows, baselines fitted on the inner training rows; for churn
    also, when a baseline is mixed in, the calibration of the blended probability on the same rows
    (``ml.calibration``)."""
    if not blend.blends(model) or valid_preds is None or valid.empty:
        return None
    base_preds, _ = serving.fit_baselines(model, inner, valid, cfg)
    chosen = blend.choose(model, valid, valid_preds, base_preds, min_gain=cfg.promotion_margin)
    if model == "churn_risk" and chosen["method"] is not None:
        # the trees alone are fitted by log loss, a proper score, and calibrating them again on the validation rows
        # cost Brier on Ta-Feng (+0.0005) and the grocery log (+0.0009); a weighted mean of two probabilities is not
        # a probability of either, and there calibration restores the level (the sample: Brier 0.1213 -> 0.1191)
        mixed = blend.apply(model, chosen, valid_preds, base_preds[str(chosen["method"])])
        chosen["calibration"] = calibration.fit(mixed["p"], valid["label_churn"].to_numpy())
    return chosen


def _choose(model: str, cfg: MLConfig, validation: dict[str, dict]) -> tuple[str, str]:
    if cfg.bgnbd_features == "on":
        return "with_bgnbd", "configured on"
    if cfg.bgnbd_features == "off":
        return "without_bgnbd", "configured off"
    a, b = validation["with_bgnbd"]["metric"], validation["without_bgnbd"]["metric"]
    if not (np.isfinite(a) and np.isfinite(b)):
        return "with_bgnbd", "no validation cut-off: kept by default"
    chosen = "with_bgnbd" if a >= b else "without_bgnbd"
    return chosen, f"validation {MAIN_METRIC[model]}: with {a:.4f}, without {b:.4f}"


def _baselines(model: str, train_rows: pd.DataFrame, eval_rows: pd.DataFrame, cfg: MLConfig) -> tuple[dict, dict, dict]:
    started = time.perf_counter()
    preds, states = serving.fit_baselines(model, train_rows, eval_rows, cfg)
    log.info("%s: baselines fitted in %.1f s", model, time.perf_counter() - started)
    fitted = states["btyd"]["bgnbd"]
    notes = {
        "bgnbd": "BG/NBD (and Gamma-Gamma spend for value) by maximum likelihood, ml/bgnbd.py and ml/gammagamma.py",
        "bgnbd_params": {k: fitted[k] for k in ("r", "alpha", "a", "b")},
    }
    return preds, notes, states


def train_and_evaluate(conn: psycopg.Connection, cfg: MLConfig, model: str, run_date: date) -> TrainResult:
    stats = data_stats(conn, cfg, run_date)
    reason = cold_start_reason(stats, run_date, cfg)
    split = None
    if reason is None:
        try:
            split = plan_split(feature_as_of_dates(conn, cfg), stats, run_date, cfg)
        except InsufficientHistory as exc:
            reason = str(exc)
    if reason is not None or split is None:
        _record_status(cfg, model, run_date, "cold_start", reason, None)
        log.warning("%s: not trained, cold start: %s", model, reason)
        return TrainResult(model, "cold_start", reason=reason)

    started = time.perf_counter()
    try:
        ds = build_dataset(conn, cfg, model, split)
        train_rows, eval_rows = ds.rows(split.train_cutoffs), ds.rows([split.eval_cutoff])
        empty = [name for name, rows in (("training", train_rows), ("evaluation", eval_rows)) if rows.empty]
        if empty:
            raise InsufficientHistory(f"no {' or '.join(empty)} rows for {model} at the planned cut-offs")
    except InsufficientHistory as exc:
        _record_status(cfg, model, run_date, "cold_start", str(exc), None)
        log.warning("%s: not trained, cold start: %s", model, exc)
        return TrainResult(model, "cold_start", reason=str(exc))
    variants = _variants(ds)
    validation, valid_preds, inner, valid = _validate(model, ds, cfg, variants)
    chosen, why = _choose(model, cfg, validation)
    blended = _choose_blend(model, cfg, valid_preds.get(chosen), inner, valid)

    fits: dict[str, train.Fitted] = {}
    preds: dict[str, dict] = {}
    for name, spec in variants.items():
        rounds = max(1, math.ceil(validation[name]["rounds"] * 1.1))
        fitted = train.fit(model, train_rows, spec, cfg, rounds=rounds)
        fitted.sigma = validation[name]["sigma"]
        fits[name] = fitted
        preds[name] = train.outputs(model, fitted.booster, eval_rows, spec, cfg.nthread, fitted.sigma)
    other = "without_bgnbd" if chosen == "with_bgnbd" else "with_bgnbd"
    base_preds, notes, states = _baselines(model, train_rows, eval_rows, cfg)
    unblended = preds[chosen]
    if blended:
        method = blended["method"]
        preds[chosen] = blend.apply(model, blended, unblended, base_preds[str(method)] if method is not None else None)
    results = {"xgboost": metrics_for(model, eval_rows, preds[chosen])}
    results[f"xgboost_{other}"] = metrics_for(model, eval_rows, preds[other])
    if preds[chosen] is not unblended:
        results["xgboost_unblended"] = metrics_for(model, eval_rows, unblended)
    results.update({k: metrics_for(model, eval_rows, v) for k, v in base_preds.items()})
    comparison = compare(model, results, min_events=cfg.min_evaluation_events)

    # Serving mirrors the evaluation: the same recipe (feature set, rounds, sigma) refitted on every window up to
    # the latest fully observed one, so the served model has seen the most recent behaviour it was measured on.
    served_rows = ds.rows([*split.train_cutoffs, split.eval_cutoff])
    rounds = max(1, math.ceil(validation[chosen]["rounds"] * 1.1))
    served = train.fit(model, served_rows, variants[chosen], cfg, rounds=rounds).booster
    notes["backtest"] = backtest.run(model, ds, cfg, variants[chosen], rounds, validation[chosen]["sigma"], blended)

    from ml.registry_version import write_version  # report plotting pulls in matplotlib: only when a version is written

    version = write_version(
        cfg=cfg,
        model=model,
        run_date=run_date,
        ds=ds,
        chosen=chosen,
        choice_reason=why,
        spec=variants[chosen],
        fitted=fits[chosen],
        validation=validation,
        results=results,
        comparison=comparison,
        notes=notes,
        eval_rows=eval_rows,
        predictions={"xgboost": preds[chosen], f"xgboost_{other}": preds[other], **base_preds},
        train_rows=train_rows,
        seconds=time.perf_counter() - started,
        served=(served, len(served_rows)),
        blend=blended,
    )
    serving.write_states(cfg, model, version, states)
    _record_status(cfg, model, run_date, "trained", None, version)
    # measurable is a property, not a field: without it the benchmark's table read every window as measurable
    comparison_out = {**comparison.__dict__, "measurable": comparison.measurable}
    metrics = {"results": results, "comparison": comparison_out, "backtest": notes["backtest"]}
    return TrainResult(model, "trained", version=version, metrics=metrics)


def evaluate_version(
    conn: psycopg.Connection, cfg: MLConfig, model: str, version: registry.ModelVersion, run_date: date
) -> dict[str, dict[str, float]]:
    """A stored version on today's latest fully observed cut-off, next to baselines fitted as in training."""
    stats = data_stats(conn, cfg, run_date)
    split = plan_split(feature_as_of_dates(conn, cfg), stats, run_date, cfg)
    ds = build_dataset(conn, cfg, model, split)
    train_rows, eval_rows = ds.rows(split.train_cutoffs), ds.rows([split.eval_cutoff])
    spec = [Feature.from_dict(f) for f in version.metadata["features"]]
    import xgboost as xgb

    booster = xgb.Booster(params={"nthread": cfg.nthread})
    booster.load_model(str(version.evaluated_model_file))
    own = train.outputs(model, booster, eval_rows, spec, cfg.nthread, version.metadata.get("aft_sigma"))
    base_preds, _, states = _baselines(model, train_rows, eval_rows, cfg)
    preds = {"xgboost": serving.blended(cfg, version, eval_rows, own, states=states), **base_preds}
    return {name: metrics_for(model, eval_rows, out) for name, out in preds.items()}
