"""Nightly scoring: every customer with a completed order in the scoring window, as of run_date + 1.

For each model the method ``ml.promotion`` measured best serves (``ml.serving``): the XGBoost champion
(``method = 'xgboost'``), or a baseline that beat it on the same rows (``method`` = ``recency``, ``rfm``,
``bgnbd``...: the reason in ``ml.scoring_runs`` and reason_3 of every row). While nothing was fitted (cold start)
BG/NBD fitted on that night's history serves the customer models (``model_version = 'bgnbd-cold-start'``: it needs
no label window), and the rules (``method = 'rules'``, ``is_fallback``) only when not even that can be fitted or for
categories; a new decision is picked up automatically the next night.
A champion whose warehouse features are missing or retyped is refused with the differing columns named. Rows
stream from PostgreSQL in chunks and go back with COPY, all inside one transaction that first deletes the as-of
date: re-running a night replaces it exactly.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import xgboost as xgb
from psycopg import sql

from ml import baselines, bgnbd, blend, btyd_baseline, registry, serving, train
from ml.categories import category_history_query, derive
from ml.config import CUSTOMER_MODELS, MLConfig
from ml.features import (
    Feature,
    FeatureMismatch,
    check_features,
    data_stats,
    design_matrix,
    history_query,
    sample_filter,
    warehouse_feature_types,
)
from ml.promotion import last_decision
from ml.reasons import replenishment_phrase, top_reasons
from ml.score_tables import ddl, record_runs
from ml.split import cold_start_reason
from proactive_crm.warehouse_frames import copy_frame, iter_frames, qualified

log = logging.getLogger(__name__)
RULES_VERSION = "rules-1"
SCORE_COLUMNS = [
    "customer_id",
    "as_of_date",
    "model",
    "model_version",
    "method",
    "is_fallback",
    "score",
    "p_order_14d",
    "p_order_30d",
    "reason_1",
    "reason_2",
    "reason_3",
    "scored_at",
]
CATEGORY_COLUMNS = [
    "customer_id",
    "category",
    "as_of_date",
    "model_version",
    "method",
    "is_fallback",
    "expected_days_to_next_purchase",
    "p_purchase_7d",
    "p_purchase_14d",
    "reason",
    "scored_at",
]
# churn and value: what raises them; time to next order: what moves it most either way (sooner or later)
DIRECTION = {"churn_risk": "up", "value_90d": "up", "next_purchase": "abs", "next_purchase_category": "abs"}
BYTES_PER_ROW = 400  # rough CSV width of a feature row: turns chunk_rows into a COPY block size
BGNBD_FIT_CUSTOMERS = 100_000
COLD_START_BGNBD_VERSION = "bgnbd-cold-start"
MIN_COLD_START_BGNBD_CUSTOMERS = 50  # four parameters; fewer customers than this fit noise


@dataclass
class Scorer:
    """One model for tonight: its champion (booster + features), or the rules with the reason why."""

    model: str
    version: str
    method: str
    fallback_reason: str | None = None
    booster: xgb.Booster | None = None
    spec: list[Feature] = field(default_factory=list)
    sigma: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    states: dict[str, Any] = field(default_factory=dict)  # a serving baseline's fitted state (ml.serving)
    rows: int = 0
    seconds: float = 0.0
    copy_seconds: float = 0.0

    @property
    def is_fallback(self) -> bool:
        return self.method == "rules"

    @property
    def is_baseline(self) -> bool:
        return self.method not in ("xgboost", "rules")

    @property
    def blend_method(self) -> str | None:
        """The baseline averaged into the model's predictions (``ml.blend``), or None."""
        chosen = self.metrics.get("blend") if self.method == "xgboost" else None
        return chosen.get("method") if chosen else None

    @property
    def needs_bgnbd_fit(self) -> bool:
        btyd = btyd_baseline.methods(self.model)
        return self.method in btyd or self.blend_method in btyd or any(f.name.startswith("bgnbd_") for f in self.spec)

    def note(self) -> str:
        """reason_3 of a row not scored by XGBoost: which method serves and why."""
        if self.is_fallback:
            return f"rules fallback ({self.fallback_reason})"[:300]
        return f"{self.method} baseline serves ({self.fallback_reason})"[:300]


def _fallback_reason(cfg: MLConfig, model: str, cold: str | None) -> str:
    """Why the rules score this model tonight, as the run summary and every reason_3 say it."""
    if cold:
        return f"cold start: {cold}"
    status = registry.last_training(cfg, model)
    if status is not None:
        if status.get("status") == "cold_start":
            return f"cold start at the last training, {status['run_date']}: {status['reason']}"
        if status.get("status") == "failed":
            return f"the last training, {status['run_date']}, failed: {status['reason']}"
        decision = last_decision(cfg, model)
        if decision and not decision["promoted"]:
            return f"{decision['version']} trained {status['run_date']}, not promoted: {decision['reason']}"
    return "no champion model yet: run `python -m ml train` (weekly crm_train DAG)"


def _baseline_scorer(cfg: MLConfig, model: str, served: dict[str, Any]) -> Scorer:
    """The baseline the last promotion measured best, with its state from the version whose evaluation it won."""
    method, version = served["method"], served["version"]
    if method == "rules":
        return Scorer(model, RULES_VERSION, "rules", served["reason"])
    states = serving.load_states(cfg, model, version)
    metrics_path = registry.model_dir(cfg, model) / version / "metrics.json"
    results = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.exists() else {}
    comparison = results.get("comparison", {})
    metric = comparison.get("metric")
    held_out = {
        "metric": metric,
        "model": (results.get("results", {}).get(method) or {}).get(metric),
        "best_baseline": "xgboost",
        "baseline": comparison.get("model"),
    }
    return Scorer(model, f"{method}@{version}", method, served["reason"], metrics=held_out, states=states)


def _untrained_scorer(cfg: MLConfig, model: str, cold: str | None) -> Scorer:
    """Nothing trained or decided yet: BG/NBD fitted on tonight's history (it needs no label window) serves the
    customer models; ``_fitted_or_rules`` falls back to the rules when that history is too thin to fit."""
    why = _fallback_reason(cfg, model, cold)
    if model not in CUSTOMER_MODELS:
        return Scorer(model, RULES_VERSION, "rules", why)
    reason = f"{why}; BG/NBD fitted on tonight's history serves until a model is trained"
    return Scorer(model, COLD_START_BGNBD_VERSION, "bgnbd", reason, states={"btyd": {"bgnbd": None}})


def _fitted_or_rules(scorer: Scorer, params: bgnbd.BGNBDParams | None) -> Scorer:
    """The cold-start BG/NBD scorer keeps serving only on a fit worth the name; otherwise the rules, saying why."""
    if scorer.version != COLD_START_BGNBD_VERSION:
        return scorer
    fitted = params is not None and np.isfinite([params.r, params.alpha, params.a, params.b]).all()
    if fitted and params.n_customers >= MIN_COLD_START_BGNBD_CUSTOMERS:  # type: ignore[union-attr]
        return scorer
    seen = params.n_customers if params is not None else 0
    why = str(scorer.fallback_reason).split("; BG/NBD fitted")[0]
    thin = f"BG/NBD could not be fitted on {seen:,} customers' history (need {MIN_COLD_START_BGNBD_CUSTOMERS:,})"
    return Scorer(scorer.model, RULES_VERSION, "rules", f"{why}; {thin}")


def resolve(cfg: MLConfig, model: str, cold: str | None, warehouse_types: dict[str, str] | None) -> Scorer:
    served = serving.read(cfg, model)
    if served is not None and served["method"] != "xgboost":
        return _baseline_scorer(cfg, model, served)
    champion = registry.champion(cfg, model)
    if champion is None:
        return _untrained_scorer(cfg, model, cold)
    spec = [Feature.from_dict(f) for f in champion.metadata["features"]]
    if any(f.source == "warehouse" for f in spec):
        if warehouse_types is None:
            raise FeatureMismatch(f"{model} {champion.version} needs {cfg.tables.features}, which does not exist")
        extra = check_features(spec, warehouse_types, cfg.tables.features, cfg.strict_feature_match)
        if extra:
            log.warning("%s %s: columns not used by the model: %s", model, champion.version, ", ".join(extra))
    booster = xgb.Booster(params={"nthread": cfg.nthread})
    booster.load_model(str(champion.model_file))
    metrics = champion.path / "metrics.json"
    comparison = json.loads(metrics.read_text(encoding="utf-8")).get("comparison", {}) if metrics.exists() else {}
    chosen = champion.metadata.get("blend")
    states = serving.load_states(cfg, model, champion.version) if chosen and chosen.get("method") else {}
    return Scorer(
        model,
        champion.version,
        "xgboost",
        None,
        booster,
        spec,
        champion.metadata.get("aft_sigma"),
        {**comparison, "blend": chosen},
        states,
    )


def _contributions(scorer: Scorer, matrix: xgb.DMatrix, exact: bool) -> np.ndarray:
    assert scorer.booster is not None
    return scorer.booster.predict(matrix, pred_contribs=True, approx_contribs=not exact)


def _model_rows(
    scorer: Scorer, chunk: pd.DataFrame, cfg: MLConfig, params: bgnbd.BGNBDParams | None = None
) -> pd.DataFrame:
    """One output row per customer of the chunk for one model."""
    model = scorer.model
    windows = train.WINDOWS.get(model, ())
    if scorer.is_fallback:
        out = baselines.rules_predict(model, chunk, cfg.horizon_days, windows)
        reasons = _rule_reasons(model, chunk, scorer.note())
    elif scorer.is_baseline:
        out = serving.predict(model, scorer.method, chunk, scorer.states, cfg, params)
        reasons = _rule_reasons(model, chunk, scorer.note())
    else:
        matrix = xgb.DMatrix(design_matrix(chunk, scorer.spec), enable_categorical=True, nthread=cfg.nthread)
        raw = train.predict(model, scorer.booster, matrix)  # type: ignore[arg-type]
        out = (
            {"p": raw, "value": raw}
            if model != "next_purchase"
            else train.survival_outputs(raw, scorer.sigma or 1.0, windows)
        )
        if scorer.metrics.get("blend"):  # the blend's baseline, and the churn calibration, as evaluated
            method = scorer.blend_method
            base = serving.predict(model, method, chunk, scorer.states, cfg, params) if method is not None else None
            out = blend.apply(model, scorer.metrics["blend"], out, base)
        contribs = _contributions(scorer, matrix, cfg.exact_contributions)
        reasons = top_reasons(contribs, chunk, scorer.spec, 3, DIRECTION[model])
    score = {"churn_risk": "p", "value_90d": "value", "next_purchase": "days"}[model]
    rows = pd.DataFrame(
        {
            "customer_id": chunk["customer_id"].to_numpy(),
            "model": model,
            "model_version": scorer.version,
            "method": scorer.method,
            "is_fallback": scorer.is_fallback,
            "score": np.asarray(out[score], dtype=float),
            "p_order_14d": out.get("p_14d", np.full(len(chunk), np.nan)),
            "p_order_30d": out.get("p_30d", np.full(len(chunk), np.nan)),
            "reason_1": reasons[:, 0],
            "reason_2": reasons[:, 1],
            "reason_3": reasons[:, 2],
        }
    )
    if model != "next_purchase":
        rows[["p_order_14d", "p_order_30d"]] = np.nan
    return rows


def _rule_reasons(model: str, chunk: pd.DataFrame, note: str) -> np.ndarray:
    from ml.reasons import template_for

    frame = chunk.reset_index(drop=True)
    first = template_for("hist_days_since_last")(frame, "hist_days_since_last")
    second = (
        template_for("hist_mean_value")(frame, "hist_mean_value")
        if model == "value_90d"
        else template_for("hist_frequency")(frame, "hist_frequency")
    )
    return np.stack([first.to_numpy(object), second.to_numpy(object), np.full(len(frame), note, dtype=object)], axis=1)


HISTORY_TABLE = "ml_scoring_history"  # a temporary table: the history at the as-of date, aggregated once


def _materialise_history(reader: psycopg.Connection, cfg: MLConfig, as_of: date) -> None:
    reader.execute(
        sql.SQL("create temporary table {} on commit drop as {}").format(
            sql.Identifier(HISTORY_TABLE), history_query(cfg)
        ),
        {"as_of": [as_of]},
    )
    reader.execute(sql.SQL("analyze {}").format(sql.Identifier(HISTORY_TABLE)))


def _customer_query(cfg: MLConfig, columns: list[str]) -> sql.Composable:
    """Customers with a completed order in the scoring window, their history and the model features."""
    extra = sql.SQL("").join(sql.SQL(", f.{}").format(sql.Identifier(c)) for c in columns)
    join = sql.SQL("")
    if columns:
        join = sql.SQL("left join {} f on f.customer_id = h.customer_id and f.as_of_date = h.as_of_date").format(
            qualified(cfg.tables.features)
        )
    return sql.SQL("select h.*{extra} from {history} h {join} where h.hist_days_since_last <= {window}").format(
        extra=extra, history=sql.Identifier(HISTORY_TABLE), join=join, window=sql.Literal(cfg.scoring_window_days)
    )


def _fit_bgnbd(conn: psycopg.Connection, as_of: date) -> bgnbd.BGNBDParams:
    """BG/NBD on everybody's history before the as-of date (as in training), grouped to (x, t_x, T) counts.

    Four parameters need no million customers: above ``BGNBD_FIT_CUSTOMERS`` a stable hash sample fits them.
    """
    total = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(HISTORY_TABLE))).fetchone()[0]
    sample = sql.SQL("")
    if total > BGNBD_FIT_CUSTOMERS:
        sample = sample_filter("customer_id", int(10_000 * BGNBD_FIT_CUSTOMERS / total))
    query = sql.SQL(
        "select hist_frequency, hist_recency, hist_age, count(*) as n from {} where true {} group by 1, 2, 3"
    ).format(sql.Identifier(HISTORY_TABLE), sample)
    grouped = next(iter_frames(conn, query, {}, chunk_bytes=1 << 62), pd.DataFrame())
    return bgnbd.fit(grouped, weight_column="n") if len(grouped) else bgnbd.fit(grouped)


def _needs_bgnbd(scorers: list[Scorer]) -> bool:
    return any(s.needs_bgnbd_fit for s in scorers)


def _check_feature_rows(conn: psycopg.Connection, cfg: MLConfig, as_of: date, run_date: date) -> None:
    query = sql.SQL("select exists (select 1 from {} where as_of_date = %s)").format(qualified(cfg.tables.features))
    if not conn.execute(query, (as_of,)).fetchone()[0]:  # type: ignore[index]
        raise FeatureMismatch(
            f"{cfg.tables.features} has no rows as of {as_of}: build the warehouse for business day {run_date} first"
        )


def _score_customers(reader, writer, cfg, scorers, as_of, run_date, params, scored_at) -> None:
    columns = sorted({f.name for s in scorers for f in s.spec if f.source == "warehouse"})
    if columns:
        _check_feature_rows(reader, cfg, as_of, run_date)
    for chunk in iter_frames(reader, _customer_query(cfg, columns), {"as_of": [as_of]}, cfg.chunk_rows * BYTES_PER_ROW):
        if params is not None:
            chunk = pd.concat([chunk, bgnbd.features(params, chunk, cfg.horizon_days)], axis=1)
        for scorer in scorers:
            started = time.perf_counter()
            rows = _model_rows(scorer, chunk, cfg, params).assign(as_of_date=as_of, scored_at=scored_at)
            copied = time.perf_counter()
            copy_frame(writer, cfg.tables.scores, rows, SCORE_COLUMNS)
            scorer.copy_seconds += time.perf_counter() - copied
            scorer.rows += len(rows)
            scorer.seconds += time.perf_counter() - started


def _score_categories(reader, writer, cfg, scorer, as_of, params, scored_at) -> None:
    query = sql.SQL(
        "select c.*, h.hist_frequency, h.hist_recency, h.hist_age, h.hist_days_since_last, h.hist_orders, "
        "h.hist_revenue, h.hist_mean_value from ({pairs}) c join {history} h "
        "on h.customer_id = c.customer_id and h.as_of_date = c.as_of_date "
        "where h.hist_days_since_last <= {window} and c.cat_days_since_last <= {category_window}"
    ).format(
        pairs=category_history_query(cfg),
        history=sql.Identifier(HISTORY_TABLE),
        window=sql.Literal(cfg.scoring_window_days),
        category_window=sql.Literal(cfg.category_window_days),
    )
    windows = train.WINDOWS["next_purchase_category"]
    for chunk in iter_frames(reader, query, {"as_of": [as_of]}, cfg.chunk_rows * BYTES_PER_ROW):
        started = time.perf_counter()
        chunk = derive(chunk).reset_index(drop=True)
        if params is not None:
            chunk = pd.concat([chunk, bgnbd.features(params, chunk, cfg.horizon_days)], axis=1)
        # one reason per pair: the replenishment rhythm itself, which is what a reminder needs to say
        reason = replenishment_phrase(chunk)
        if scorer.is_fallback:
            out = baselines.rules_predict(scorer.model, chunk, cfg.horizon_days, windows)
            reason = "rules fallback (" + (scorer.fallback_reason or "no champion")[:120] + "): " + reason
        elif scorer.is_baseline:  # per category BG/NBD keeps the category fit stored with the version
            out = serving.predict(scorer.model, scorer.method, chunk, scorer.states, cfg)
            reason = f"{scorer.method} baseline serves: " + reason
        else:
            missing = [f.name for f in scorer.spec if f.name not in chunk.columns]
            if missing:
                raise FeatureMismatch(f"next_purchase_category {scorer.version}: features not computed: {missing}")
            matrix = xgb.DMatrix(design_matrix(chunk, scorer.spec), enable_categorical=True, nthread=cfg.nthread)
            raw = train.predict(scorer.model, scorer.booster, matrix)  # type: ignore[arg-type]
            out = train.survival_outputs(raw, scorer.sigma or 1.0, windows)
        rows = pd.DataFrame(
            {
                "customer_id": chunk["customer_id"].to_numpy(),
                "category": chunk["category"].astype(str).to_numpy(),
                "as_of_date": as_of,
                "model_version": scorer.version,
                "method": scorer.method,
                "is_fallback": scorer.is_fallback,
                "expected_days_to_next_purchase": out["days"],
                "p_purchase_7d": out["p_7d"],
                "p_purchase_14d": out["p_14d"],
                "reason": reason.to_numpy(object),
                "scored_at": scored_at,
            }
        )
        copied = time.perf_counter()
        copy_frame(writer, cfg.tables.category_scores, rows, CATEGORY_COLUMNS)
        scorer.copy_seconds += time.perf_counter() - copied
        scorer.rows += len(rows)
        scorer.seconds += time.perf_counter() - started


def score(url: str, cfg: MLConfig, run_date: date) -> list[dict[str, Any]]:
    """Score every model as of run_date + 1; returns one summary dict per model (also in ml.scoring_runs)."""
    as_of = run_date + timedelta(days=1)
    with psycopg.connect(url, autocommit=True) as setup:
        setup.execute(ddl(cfg))
    phases: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        phases[name] = round(time.perf_counter() - clock, 1)
        clock = time.perf_counter()

    with psycopg.connect(url) as reader, psycopg.connect(url) as writer:
        reader.execute("set transaction isolation level repeatable read")  # one snapshot for every query
        cold = cold_start_reason(data_stats(reader, cfg, run_date), run_date, cfg)
        try:
            types: dict[str, str] | None = warehouse_feature_types(reader, cfg)
        except FeatureMismatch:
            types = None  # no feature table yet: only the rules can score
        scorers = [resolve(cfg, m, cold, types) for m in CUSTOMER_MODELS]
        category = resolve(cfg, "next_purchase_category", cold, types)
        _materialise_history(reader, cfg, as_of)
        lap("history")
        params = _fit_bgnbd(reader, as_of) if _needs_bgnbd([*scorers, category]) else None
        scorers = [_fitted_or_rules(s, params) for s in scorers]
        lap("bgnbd_fit")
        scored_at = writer.execute("select now()").fetchone()[0]  # type: ignore[index]
        for table in (cfg.tables.scores, cfg.tables.category_scores, cfg.tables.scoring_runs):
            writer.execute(sql.SQL("delete from {} where as_of_date = %s").format(qualified(table)), (as_of,))
        lap("delete")
        _score_customers(reader, writer, cfg, scorers, as_of, run_date, params, scored_at)
        lap("customers")
        _score_categories(reader, writer, cfg, category, as_of, params, scored_at)
        lap("categories")
        record_runs(writer, cfg, [*scorers, category], as_of, scored_at)
        writer.commit()
        lap("commit")
    log.info("scoring phases (seconds): %s", phases)
    summary = [
        {
            "model": s.model,
            "version": s.version,
            "method": s.method,
            "rows": s.rows,
            "seconds": round(s.seconds, 1),
            "copy_seconds": round(s.copy_seconds, 1),
            "fallback_reason": s.fallback_reason,
        }
        for s in [*scorers, category]
    ]
    for line in summary:
        log.info("scored %s", line)
    return summary
