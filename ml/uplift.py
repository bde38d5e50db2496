"""The uplift learner: a two-model (T-learner) XGBoost estimate of the incremental response to a contact, its
out-of-fold Qini coefficient with a bootstrap 95% interval, and the guard that lets it rank only while the Qini's
lower bound is above zero.

The decision step (``proactive_crm.actions.uplift``) chooses the training rows (its matured decisions and their
outcomes), the folds and when to train, and records the outcome in ``actions.uplift_models``; this module knows
nothing about the contact policy or the warehouse. The Hillstrom benchmark (benchmarks/uplift_hillstrom.py) trains
this same learner through ``fit_learner`` on a real randomised test.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd

NUMERIC_FEATURES = (
    "value_at_stake",
    "churn_risk",
    "value_90d",
    "days_since_last_order",
    "count_orders",
    "total_revenue",
)
CHANNELS = ("email", "sms", "call_center")
SEGMENTS = (
    "champions", "loyal_customers", "potential_loyalists", "new_customers", "promising", "need_attention",
    "about_to_sleep", "cannot_lose_them", "at_risk", "hibernating", "prospect",
)
PARAMS = {
    "n_estimators": 150,
    "max_depth": 3,
    "learning_rate": 0.05,
    "subsample": 0.8,
    "min_child_weight": 5,
    "n_jobs": 2,
    "random_state": 7,
    "eval_metric": "logloss",
}
# Bootstrap resamples of the out-of-fold Qini's interval; the number the saved version's metadata records.
BOOTSTRAP_SAMPLES = 200


@dataclass
class UpliftModel:
    action_type: str
    status: str  # trained | qini_not_above_zero | below_minimum | failed
    count_treated: int
    count_untreated: int
    qini: float | None = None
    version: str | None = None
    detail: str = ""
    treated: object | None = None
    untreated: object | None = None
    qini_ci_low: float | None = None  # bootstrap 95% interval of the out-of-fold Qini
    qini_ci_high: float | None = None

    @property
    def active(self) -> bool:
        return self.status == "trained"

    @property
    def ranking_method(self) -> str:
        """The ranking that served the action type: the uplift learner or the Beta-Binomial response rates."""
        return "uplift_two_model" if self.active else "beta_binomial"

    def served(self) -> str:
        """One line for the run summary: which ranking served the action type and why."""
        if self.qini is not None and np.isfinite(self.qini):
            interval = f"Qini {self.qini:.2f}, 95% CI {self.qini_ci_low:.2f} to {self.qini_ci_high:.2f}"
            why = "lower bound above 0" if self.active else "lower bound not above 0"
            return f"{self.ranking_method} ({interval}: {why})"
        if self.status == "below_minimum":
            counts = f"{self.count_treated} treated / {self.count_untreated} untreated"
            return f"{self.ranking_method} (below minimum: {counts})"
        return f"{self.ranking_method} ({self.status})"


def features(frame: pd.DataFrame, channel: pd.Series | None = None) -> np.ndarray:
    """Numeric matrix: the decision's numbers, the channel and the segment one-hot (fixed column order)."""
    numeric = frame[list(NUMERIC_FEATURES)].apply(pd.to_numeric, errors="coerce").astype(float).to_numpy()
    chan = (channel if channel is not None else frame["channel"]).to_numpy()
    one_hot_channel = np.stack([(chan == c).astype(float) for c in CHANNELS], axis=1)
    seg = frame["segment"].to_numpy()
    one_hot_segment = np.stack([(seg == s).astype(float) for s in SEGMENTS], axis=1)
    return np.hstack([numeric, one_hot_channel, one_hot_segment])


def _fit(x: np.ndarray, y: np.ndarray):
    """P(y = 1 | x) for a 0/1 outcome; E[y | x] (squared error, same tree settings) for an amount such as spend."""
    from xgboost import XGBClassifier, XGBRegressor

    if len(y) == 0 or y.min() == y.max():  # one class only: a constant model
        return float(y.mean()) if len(y) else 0.0
    if np.isin(y, (0.0, 1.0)).all():
        model = XGBClassifier(**PARAMS)
    else:
        model = XGBRegressor(**{**PARAMS, "eval_metric": "rmse"})
    model.fit(x, y)
    return model


def _predict(model, x: np.ndarray) -> np.ndarray:
    if isinstance(model, float):
        return np.full(len(x), model)
    if hasattr(model, "predict_proba"):
        return model.predict_proba(x)[:, 1]
    return model.predict(x)


def fit_learner(x: np.ndarray, y: np.ndarray, treated: np.ndarray) -> tuple[object, object]:
    """The two-model learner: one model on the treated rows, one on the untreated rows."""
    return _fit(x[treated], y[treated]), _fit(x[~treated], y[~treated])


def predict_uplift(models: tuple[object, object], x: np.ndarray) -> np.ndarray:
    return _predict(models[0], x) - _predict(models[1], x)


def qini_curve(y: np.ndarray, treated: np.ndarray, uplift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Incremental responders among the top-k by predicted uplift: Y_t(k) - Y_c(k) * N_t(k) / N_c(k)."""
    order = np.argsort(-uplift, kind="stable")
    y, treated = y[order].astype(float), treated[order].astype(bool)
    n_t, n_c = np.cumsum(treated), np.cumsum(~treated)
    y_t, y_c = np.cumsum(y * treated), np.cumsum(y * ~treated)
    with np.errstate(divide="ignore", invalid="ignore"):
        curve = np.where(n_c > 0, y_t - y_c * n_t / np.maximum(n_c, 1), y_t)
    x = np.arange(1, len(y) + 1)
    return np.concatenate([[0], x]), np.concatenate([[0.0], curve])


def qini_coefficient(y: np.ndarray, treated: np.ndarray, uplift: np.ndarray) -> float:
    """Area between the model's Qini curve and random targeting, over the same area for a perfect model
    (the normalisation scikit-uplift's qini_auc_score uses); 1 is perfect, 0 is random, negative is worse."""
    x, model_curve = qini_curve(y, treated, uplift)
    random_curve = x * model_curve[-1] / x[-1]
    perfect_score = y * treated - y * (1 - treated)  # treated responders first, untreated responders last
    _, perfect_curve = qini_curve(y, treated, perfect_score.astype(float))
    trapezoid = getattr(np, "trapezoid", None) or np.trapz
    model_area = trapezoid(model_curve - random_curve, x)
    perfect_area = trapezoid(perfect_curve - random_curve, x)
    return float(model_area / perfect_area) if perfect_area > 0 else float("nan")


def bootstrap_interval(
    metric, y: np.ndarray, treated: np.ndarray, uplift: np.ndarray, n_boot: int = BOOTSTRAP_SAMPLES, seed: int = 7,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(y, treated, uplift)`` over rows resampled with replacement
    (the predictions stay fixed: the interval is the sampling noise of the evaluation set)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    values = []
    for _ in range(n_boot):
        rows = rng.integers(0, n, n)
        value = metric(y[rows], treated[rows], uplift[rows])
        if np.isfinite(value):
            values.append(value)
    if len(values) < n_boot / 2:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


@dataclass
class Fitted:
    treated: object
    untreated: object
    qini: float
    qini_ci_low: float
    qini_ci_high: float


def fit_out_of_fold(
    x: np.ndarray, y: np.ndarray, t: np.ndarray, fold: np.ndarray, n_boot: int = BOOTSTRAP_SAMPLES
) -> Fitted:
    """Out-of-fold Qini (each fold scored by the learner trained on the other) with its bootstrap 95% interval,
    then both models refitted on everything."""
    oof = np.zeros(len(y))
    nan = float("nan")
    for held in (fold, ~fold):
        train = ~held
        if (train & t).sum() == 0 or (train & ~t).sum() == 0:
            return Fitted(*fit_learner(x, y, t), nan, nan, nan)
        oof[held] = predict_uplift(fit_learner(x[train], y[train], t[train]), x[held])
    qini = qini_coefficient(y, t, oof)
    low, high = bootstrap_interval(qini_coefficient, y, t, oof, n_boot) if np.isfinite(qini) else (nan, nan)
    return Fitted(*fit_learner(x, y, t), qini, low, high)


def guard(fitted: Fitted) -> tuple[str, str]:
    """Status and reason: uplift ranks only while the out-of-fold Qini's lower 95% bound is above zero."""
    figures = f"out-of-fold Qini {fitted.qini:.3f} (95% CI {fitted.qini_ci_low:.3f} to {fitted.qini_ci_high:.3f})"
    if np.isfinite(fitted.qini_ci_low) and fitted.qini_ci_low > 0:
        return "trained", f"{figures}: lower bound above 0, uplift ranks"
    return "qini_not_above_zero", f"{figures}: lower bound not above 0, Beta-Binomial response rates rank"


def registry_name(action_type: str) -> str:
    """The learner's model in the registry: one per action type, beside the customer models."""
    return f"uplift_{action_type}"


def save_version(
    models_dir: Path, model: UpliftModel, run_date: date, frame: pd.DataFrame, n_boot: int = BOOTSTRAP_SAMPLES
) -> str:
    """Write the two boosters of a fitted action type as a version of the model registry and return its
    ``<model>/<version>`` (what ``actions.uplift_models.model_version`` records).

    ``<models_dir>/uplift_<action_type>/<run date>-<fingerprint>/`` holds ``treated.ubj`` and ``untreated.ubj``
    (XGBoost's own format; a side with one class only is a constant and has no file) and ``metadata.json``: what it
    is, when it was trained, on how many rows, its out-of-fold Qini and the guard's status. No champion: the
    decision step refits every night and ranks with the fit in memory; the versions are the record of what ranked.
    The metadata keeps a digest of the training frame, never its rows (the erasure test reads every file)."""
    from ml import registry
    from ml.config import MLConfig

    cfg = MLConfig(models_dir=models_dir)  # the registry needs only where the models live
    name = registry_name(model.action_type)
    digest = registry.fingerprint(frame, PARAMS, n_boot, registry.library_versions())
    version = registry.make_version(run_date, digest)
    staging = registry.staging_dir(cfg, name)
    files = []
    for side, booster in (("treated", model.treated), ("untreated", model.untreated)):
        if hasattr(booster, "save_model"):
            booster.save_model(staging / f"{side}.ubj")
            files.append(f"{side}.ubj")
    registry.write_json(staging / "metadata.json", {
        "model": name,
        "kind": "uplift_two_model",
        "description": f"two-model (T-learner) XGBoost uplift of {model.action_type}: P(order | contacted) "
        "- P(order | not contacted)",
        "version": version,
        "run_date": run_date.isoformat(),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "count_rows": int(len(frame)),
        "count_treated": model.count_treated,
        "count_untreated": model.count_untreated,
        "status": model.status,
        "qini_coefficient": finite(model.qini),
        "qini_ci_low": finite(model.qini_ci_low),
        "qini_ci_high": finite(model.qini_ci_high),
        "features": [*NUMERIC_FEATURES, *(f"channel={c}" for c in CHANNELS), *(f"segment={s}" for s in SEGMENTS)],
        "params": PARAMS,
        "bootstrap_samples": n_boot,
        "files": files,
        "data_fingerprint": digest,
        "library_versions": registry.library_versions(),
    })
    registry.publish(cfg, name, version, staging)
    return f"{name}/{version}"


def finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def predict(model: UpliftModel, frame: pd.DataFrame, channel: str) -> np.ndarray:
    x = features(frame, pd.Series([channel] * len(frame), index=frame.index))
    return _predict(model.treated, x) - _predict(model.untreated, x)
