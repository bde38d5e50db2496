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
The learner itself (features, the two models, Qini, the guard, saving the boosters) is ``ml/uplift.py``; this module
chooses the training rows and folds, decides when to train and records the outcome. Each fit is saved as a version
of the model registry, ``<models_dir>/uplift_<action_type>/<run date>-<fingerprint>/`` (``CRM_MODELS_DIR``), which
``actions.uplift_models.model_version`` names.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import psycopg

# the learner's names this step uses, and re-exports for its callers (the tests and the decision step's modules)
from ml.uplift import (  # noqa: F401
    BOOTSTRAP_SAMPLES,
    NUMERIC_FEATURES,
    Fitted,
    UpliftModel,
    features,
    finite,
    fit_out_of_fold,
    guard,
    predict,
    predict_uplift,
    qini_coefficient,
    save_version,
)
from proactive_crm.actions.groups import buckets
from proactive_crm.actions.policy import Policy

log = logging.getLogger(__name__)


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


def fit_two_model(frame: pd.DataFrame, n_boot: int = BOOTSTRAP_SAMPLES) -> Fitted:
    """The decision step's learner on its decisions frame: two folds hashed on the customer."""
    fold = buckets("uplift-fold", frame["customer_id"]) < 0.5
    return fit_out_of_fold(
        features(frame), frame["ordered"].to_numpy(dtype=float), frame["treated"].to_numpy(dtype=bool), fold, n_boot
    )


def train_uplift(
    conn: psycopg.Connection, policy: Policy, run_date: date, models_dir: Path | None = None
) -> dict[str, UpliftModel]:
    """One model per action type of the policy; each fit is written to the registry in ``models_dir`` (None: kept
    in memory only, as the unit tests do)."""
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
        if models_dir is not None:
            models[action_type].version = save_version(models_dir, models[action_type], run_date, frame)
    return models


def store_models(conn: psycopg.Connection, run_date: date, models: dict[str, UpliftModel]) -> None:
    conn.execute("delete from actions.uplift_models where run_date = %s", (run_date,))
    with conn.cursor() as cur:
        cur.executemany(
            "insert into actions.uplift_models (run_date, action_type, status, count_treated, count_untreated, "
            "qini_coefficient, qini_ci_low, qini_ci_high, ranking_method, model_version, detail) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (run_date, m.action_type, m.status, m.count_treated, m.count_untreated, finite(m.qini),
                 finite(m.qini_ci_low), finite(m.qini_ci_high), m.ranking_method, m.version, m.detail)
                for m in models.values()
            ],
        )
