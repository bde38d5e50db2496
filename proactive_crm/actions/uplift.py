"""Expected incremental value: a two-model (T-learner) XGBoost uplift estimate per action type, with its Qini.

Once an action type has ``min_treated`` matured treated outcomes and ``min_untreated`` matured holdout + control
group outcomes, two classifiers learn P(order within window_days | features) on the treated and on the untreated
decisions; uplift = P_treated - P_untreated. The out-of-fold Qini coefficient (two folds hashed on the customer) and its
bootstrap 95% interval are recorded in ``actions.uplift_models``; the learner then refits on everything.

The guard: an action type is ranked by uplift x value at stake - cost only while the lower 95% bound of its
out-of-fold Qini is above zero (status trained). Otherwise the learner has not shown, on this shop's own holdouts,
that it orders customers better than random targeting, and the Beta-Binomial response rates keep ranking
(status qini_not_above_zero; below the minimum of outcomes, status below_minimum); ``ranking_method`` and
``detail`` of ``actions.uplift_models`` say which ranking served and why. The Hillstrom benchmark
(benchmarks/uplift_hillstrom.py) trains this same learner through ``fit_learner`` on a real randomised test.
Boosters are saved in XGBoost's own format under ``<state_dir>/actions/uplift/<action_type>/<run_date>/``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

from proactive_crm.actions.groups import buckets
from proactive_crm.actions.policy import Policy

log = logging.getLogger(__name__)

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


def outcome_counts(conn: psycopg.Connection, policy: Policy, run_date: date) -> dict[str, tuple[int, int]]:
    """Matured (treated, untreated) outcomes per action type: published selections vs holdout + control group."""
    rows = conn.execute(
        """
        select d.action_type,
            count(*) filter (where d.outcome = 'selected' and p.run_date is not null),
            count(*) filter (where d.outcome in ('holdout', 'control_group'))
        from actions.decisions as d
        left join actions.publications as p
            on d.run_date = p.run_date
        where d.run_date <= %s and d.channel is not null
        group by d.action_type
        """,
        (run_date - timedelta(days=policy.window_days),),
    ).fetchall()
    return {r[0]: (int(r[1]), int(r[2])) for r in rows}


def training_frame(conn: psycopg.Connection, policy: Policy, run_date: date, action_type: str) -> pd.DataFrame:
    """Matured decisions of the type with the outcome: a completed order within window_days after the run date."""
    rows = conn.execute(
        f"""
        select d.customer_id, d.channel, d.segment, {", ".join(f"d.{c}::float8" for c in NUMERIC_FEATURES)},
            (d.outcome = 'selected') as treated,
            exists (
                select 1 from core.fct_orders as o
                where o.customer_id = d.customer_id and o.is_completed
                    and o.ordered_date > d.run_date and o.ordered_date <= d.run_date + d.window_days
            ) as ordered
        from actions.decisions as d
        left join actions.publications as p
            on d.run_date = p.run_date
        where d.action_type = %s and d.run_date <= %s and d.channel is not null
            and ((d.outcome = 'selected' and p.run_date is not null) or d.outcome in ('holdout', 'control_group'))
        """,
        (action_type, run_date - timedelta(days=policy.window_days)),
    ).fetchall()
    columns = ["customer_id", "channel", "segment", *NUMERIC_FEATURES, "treated", "ordered"]
    return pd.DataFrame(rows, columns=columns)


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
    metric, y: np.ndarray, treated: np.ndarray, uplift: np.ndarray, n_boot: int = 200, seed: int = 7,
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


def fit_two_model(frame: pd.DataFrame, n_boot: int = 200) -> Fitted:
    """The decision step's learner on its decisions frame: two folds hashed on the customer."""
    fold = buckets("uplift-fold", frame["customer_id"]) < 0.5
    return fit_out_of_fold(
        features(frame), frame["ordered"].to_numpy(dtype=float), frame["treated"].to_numpy(dtype=bool), fold, n_boot
    )


def fit_out_of_fold(x: np.ndarray, y: np.ndarray, t: np.ndarray, fold: np.ndarray, n_boot: int = 200) -> Fitted:
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


def train_uplift(
    conn: psycopg.Connection, policy: Policy, run_date: date, state_dir: Path | None = None
) -> dict[str, UpliftModel]:
    counts = outcome_counts(conn, policy, run_date)
    models: dict[str, UpliftModel] = {}
    for action_type in policy.action_types:
        n_t, n_u = counts.get(action_type, (0, 0))
        if n_t < policy.min_treated or n_u < policy.min_untreated:
            models[action_type] = UpliftModel(
                action_type, "below_minimum", n_t, n_u,
                detail=f"{n_t}/{policy.min_treated} treated and {n_u}/{policy.min_untreated} untreated matured "
                "outcomes: priors and rules rank",
            )
            continue
        frame = training_frame(conn, policy, run_date, action_type)
        try:
            fitted = fit_two_model(frame)
        except Exception as exc:  # a learner failure must not stop the night: the priors still rank
            log.warning("uplift learner for %s failed, priors rank it: %s", action_type, exc)
            models[action_type] = UpliftModel(action_type, "failed", n_t, n_u, detail=f"learner failed: {exc}")
            continue
        status, reason = guard(fitted)
        models[action_type] = UpliftModel(
            action_type, status, n_t, n_u, fitted.qini, f"uplift_two_model:{action_type}@{run_date}",
            f"two-model XGBoost on {n_t} treated / {n_u} untreated outcomes, {reason}",
            fitted.treated, fitted.untreated, fitted.qini_ci_low, fitted.qini_ci_high,
        )
        if state_dir is not None:
            _save(models[action_type], state_dir / "actions" / "uplift" / action_type / run_date.isoformat())
    return models


def _save(model: UpliftModel, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, booster in (("treated", model.treated), ("untreated", model.untreated)):
        if hasattr(booster, "save_model"):
            booster.save_model(folder / f"{name}.ubj")


def predict(model: UpliftModel, frame: pd.DataFrame, channel: str) -> np.ndarray:
    x = features(frame, pd.Series([channel] * len(frame), index=frame.index))
    return _predict(model.treated, x) - _predict(model.untreated, x)


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def store_models(conn: psycopg.Connection, run_date: date, models: dict[str, UpliftModel]) -> None:
    conn.execute("delete from actions.uplift_models where run_date = %s", (run_date,))
    with conn.cursor() as cur:
        cur.executemany(
            "insert into actions.uplift_models (run_date, action_type, status, count_treated, count_untreated, "
            "qini_coefficient, qini_ci_low, qini_ci_high, ranking_method, model_version, detail) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (run_date, m.action_type, m.status, m.count_treated, m.count_untreated, _finite(m.qini),
                 _finite(m.qini_ci_low), _finite(m.qini_ci_high), m.ranking_method, m.version, m.detail)
                for m in models.values()
            ],
        )
