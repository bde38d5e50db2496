"""Rolling-origin backtest: the served recipe and every baseline, refitted at each earlier cut-off, scored there.

One evaluation cut-off is one number; on real retailers the gap between the model and the best baseline moves by
more than the promotion margin from one month to the next. Every training cut-off that has earlier cut-offs whose
label windows end by it is an origin (the latest ``MAX_ORIGINS`` of them): the model (same features, rounds and
blend as the version) is fitted on those earlier cut-offs, the baselines likewise, and all are scored on the
origin's rows, whose labels are fully observed before the evaluation cut-off. The spread of "model minus best
baseline" across origins is reported next to the evaluation cut-off's own figure.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from ml import blend, serving, train
from ml.config import MLConfig
from ml.evaluate import MAIN_METRIC, compare, metrics_for
from ml.features import Feature
from ml.labels import censor_at

if TYPE_CHECKING:
    from ml.dataset import Dataset

MAX_ORIGINS = 4


def origins(train_cutoffs: tuple[date, ...], horizon_days: int) -> list[tuple[date, list[date]]]:
    """(origin, the cut-offs fitted for it): the latest MAX_ORIGINS with at least one earlier closed window."""
    horizon = timedelta(days=horizon_days)
    out = [(o, [c for c in train_cutoffs if c + horizon <= o]) for o in train_cutoffs]
    return [(o, fit) for o, fit in out if fit][-MAX_ORIGINS:]


def run(
    model: str,
    ds: Dataset,
    cfg: MLConfig,
    spec: list[Feature],
    rounds: int,
    sigma: float | None,
    chosen_blend: dict[str, Any] | None,
) -> dict[str, Any]:
    """Per origin: the model's and the best baseline's main metric; and their difference's spread."""
    metric = MAIN_METRIC[model]
    per_origin: list[dict[str, Any]] = []
    for origin, fit_cutoffs in origins(ds.split.train_cutoffs, cfg.horizon_days):
        fit_rows, rows = censor_at(ds.rows(fit_cutoffs), origin), ds.rows([origin])
        if fit_rows.empty or rows.empty:
            continue
        booster = train.fit(model, fit_rows, spec, cfg, rounds=rounds).booster
        own = train.outputs(model, booster, rows, spec, cfg.nthread, sigma)
        base_preds, _ = serving.fit_baselines(model, fit_rows, rows, cfg)
        method = (chosen_blend or {}).get("method")
        served = blend.apply(model, chosen_blend, own, base_preds.get(method) if method else None)
        results = {"xgboost": metrics_for(model, rows, served)}
        results.update({k: metrics_for(model, rows, v) for k, v in base_preds.items()})
        comparison = compare(model, results)
        per_origin.append(
            {
                "origin": origin.isoformat(),
                "rows": int(len(rows)),
                "model": comparison.model,
                "best_baseline": comparison.best_baseline,
                "baseline": comparison.baseline,
            }
        )
    gaps = np.array([o["model"] - o["baseline"] for o in per_origin], dtype=float)
    finite = gaps[np.isfinite(gaps)]
    return {
        "metric": metric,
        "origins": per_origin,
        "gap_mean": float(finite.mean()) if len(finite) else None,
        "gap_min": float(finite.min()) if len(finite) else None,
        "gap_max": float(finite.max()) if len(finite) else None,
    }
