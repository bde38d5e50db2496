"""Champion / challenger, baselines included: the best method measured on the same evaluation rows serves.

Both score the challenger's ``eval.parquet`` (its evaluation cut-off, labels fully observed). The challenger must
beat the champion's main metric by ``ml.promotion.margin`` and, with ``must_beat_baselines``, the best baseline
of its own report by the same margin. When it does not, the current XGBoost champion keeps serving if it beats
that baseline by the margin on the same rows; otherwise the best baseline serves (``ml.serving``), with a reason
that says so. An evaluation window with fewer events than ``ml.promotion.min_evaluation_events`` (30) decides
nothing: the challenger is not promoted and a baseline fitted without labels serves (``UNMEASURED_FALLBACK``), with
a reason that gives the count and the minimum. A champion that cannot score those rows (its features are no longer
there) is replaced, and the decision says so. Every decision is written to ``promotion.json`` in the challenger's
folder, and what serves to ``serving.json`` in the model's folder.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import pandas as pd
import xgboost as xgb

from ml import registry, serving, train
from ml.config import MLConfig
from ml.evaluate import MAIN_METRIC, metrics_for, not_measurable_reason
from ml.features import Feature

log = logging.getLogger(__name__)
# Which baseline serves when the evaluation window has too few events to rank anything (fewer than
# ml.promotion.min_evaluation_events): a ranking of the baselines on those rows is as much noise as the model's,
# so the first of these the version fitted serves; BG/NBD first, because it is fitted on the history alone (no
# label window), as in a cold start.
UNMEASURED_FALLBACK = ("bgnbd", "recency", "rfm")


@dataclass(frozen=True)
class Decision:
    model: str
    version: str
    promoted: bool
    reason: str
    challenger_metric: float | None = None
    champion_version: str | None = None
    champion_metric: float | None = None
    serving: str = "xgboost"  # the method that scores from now on: xgboost or a baseline of ml.serving


def main_metric_on(cfg: MLConfig, version: registry.ModelVersion, frame: pd.DataFrame) -> float:
    """The version's main metric on ``frame`` (its blend included); raises KeyError naming missing features."""
    spec = [Feature.from_dict(f) for f in version.metadata["features"]]
    missing = [f.name for f in spec if f.name not in frame.columns]
    if missing:
        raise KeyError(f"features not in the evaluation rows: {', '.join(missing)}")
    booster = xgb.Booster(params={"nthread": cfg.nthread})
    booster.load_model(str(version.evaluated_model_file))  # the served refit has seen later labels
    out = train.outputs(version.model, booster, frame, spec, cfg.nthread, version.metadata.get("aft_sigma"))
    out = serving.blended(cfg, version, frame, out)
    return float(metrics_for(version.model, frame, out)[MAIN_METRIC[version.model]])


def latest_trained(cfg: MLConfig, model: str) -> str:
    payload = registry.last_training(cfg, model)
    if payload is None:
        raise registry.RegistryError(f"{model}: nothing trained yet (run `python -m ml train --model {model}`)")
    if payload.get("status") != "trained":
        raise registry.RegistryError(f"{model}: the last training was not completed ({payload.get('reason')})")
    return str(payload["version"])


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _baseline_serves(cfg: MLConfig, model: str, version: str, comparison: dict, frame: pd.DataFrame) -> Decision:
    """The challenger lost to a baseline: the champion keeps serving if it beats that baseline, else the baseline."""
    metric, best, base = comparison["metric"], comparison["best_baseline"], comparison["baseline"]
    lost = (
        f"{metric} {_fmt(comparison['model'])} does not beat the best baseline {best} {_fmt(base)} "
        f"by the margin {cfg.promotion_margin}"
    )
    current = registry.champion(cfg, model)
    if current is not None and current.version != version:
        try:
            theirs = main_metric_on(cfg, current, frame)
        except KeyError:
            theirs = float("nan")
        if base is not None and theirs >= base + cfg.promotion_margin:
            reason = f"{lost}; champion {current.version} ({theirs:.4f}) does and keeps serving"
            return Decision(model, version, False, reason, comparison["model"], current.version, theirs)
        lost += f"; neither does champion {current.version} ({theirs:.4f})"
    return Decision(
        model,
        version,
        False,
        f"{lost}: the {best} baseline serves" if best != "none" else f"{lost}: the rules serve",
        comparison["model"],
        current.version if current else None,
        serving=best if best != "none" else "rules",
    )


def _not_measurable(model: str, version: str, comparison: dict, fitted: set[str], why: str) -> Decision:
    """Too few events to compare: no promotion on that noise, a baseline fitted without labels serves."""
    method = next((m for m in UNMEASURED_FALLBACK if m in fitted), "rules")
    measured = (
        f"{comparison['metric']} xgboost {_fmt(comparison.get('model'))} vs {comparison['best_baseline']} "
        f"{_fmt(comparison.get('baseline'))} rest on them"
    )
    serves = f"the {method} baseline serves" if method != "rules" else "the rules serve"
    return Decision(model, version, False, f"{why} ({measured}): {serves}", comparison.get("model"), serving=method)


def decide(cfg: MLConfig, model: str, version: str) -> Decision:
    challenger = registry.load(cfg, model, version)
    metrics = json.loads((challenger.path / "metrics.json").read_text(encoding="utf-8"))
    comparison = metrics["comparison"]
    unmeasured = not_measurable_reason(model, comparison.get("events"), cfg.min_evaluation_events)
    if unmeasured is not None:
        return _not_measurable(model, version, comparison, set(metrics.get("results", {})), unmeasured)
    base, mine = comparison.get("baseline"), comparison.get("model")
    beats_baseline = mine is not None and (base is None or mine >= base + cfg.promotion_margin)
    if cfg.must_beat_baselines and not beats_baseline:
        frame = pd.read_parquet(challenger.path / "eval.parquet")
        return _baseline_serves(cfg, model, version, comparison, frame)
    current = registry.champion(cfg, model)
    if current is None:
        return Decision(model, version, True, "first champion", comparison["model"])
    if current.version == version:
        return Decision(model, version, False, "already the champion", comparison["model"], version)
    frame = pd.read_parquet(challenger.path / "eval.parquet")
    mine = main_metric_on(cfg, challenger, frame)
    try:
        theirs = main_metric_on(cfg, current, frame)
    except KeyError as exc:
        return Decision(
            model,
            version,
            True,
            f"champion {current.version} cannot score the evaluation rows: {exc}",
            mine,
            current.version,
        )
    metric = MAIN_METRIC[model]
    if mine >= theirs + cfg.promotion_margin:
        reason = f"{metric} {mine:.4f} beats champion {theirs:.4f} by at least {cfg.promotion_margin}"
        return Decision(model, version, True, reason, mine, current.version, theirs)
    reason = f"{metric} {mine:.4f} does not beat champion {theirs:.4f} by the margin {cfg.promotion_margin}"
    return Decision(model, version, False, reason, mine, current.version, theirs)


def promote(cfg: MLConfig, model: str, version: str | None = None) -> Decision:
    version = version or latest_trained(cfg, model)
    decision = decide(cfg, model, version)
    if decision.promoted:
        registry.set_champion(cfg, model, version, "promote", decision.reason)
    if decision.serving == "xgboost":
        champion = registry.champion(cfg, model)
        if champion is not None:
            serving.write(cfg, model, "xgboost", champion.version, decision.reason)
    else:
        serving.write(cfg, model, decision.serving, version, decision.reason)
    registry.write_json(
        registry.model_dir(cfg, model) / version / "promotion.json",
        {**asdict(decision), "decided_at": datetime.now(UTC).isoformat(timespec="seconds")},
    )
    log.info("%s %s: %s (%s)", model, version, "promoted" if decision.promoted else "not promoted", decision.reason)
    return decision


def last_decision(cfg: MLConfig, model: str) -> dict[str, object] | None:
    """The promotion decision on the last trained version (None before any training or promotion)."""
    try:
        version = latest_trained(cfg, model)
    except registry.RegistryError:
        return None
    path = registry.model_dir(cfg, model) / version / "promotion.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
