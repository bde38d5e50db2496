"""The best method measured serves, baselines included; a retailer without consumables still trains (real PostgreSQL).

The mini warehouse is simulated from a BG/NBD-like process, so the BG/NBD baseline is close to the true model
there: with the default promotion rule it beats XGBoost and must be the method that scores.
"""

from __future__ import annotations

import io
import shutil
import uuid
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from ml import promotion, registry, serving
from ml.__main__ import _promote, _status
from ml.config import MLConfig
from ml.evaluate import MAIN_METRIC, metrics_for
from ml.evaluation_report import format_model_summary
from ml.pipeline import train_and_evaluate
from ml.score import score
from tests.ml.conftest import RUN_DATE, create_tables, make_config

CUSTOMER_MODELS = ("churn_risk", "next_purchase", "value_90d")


@pytest.fixture(scope="module")
def decided(warehouse: str, mini_warehouse, tmp_path_factory) -> tuple:
    cfg = replace(mini_warehouse, models_dir=tmp_path_factory.mktemp("serving"))
    decisions = {}
    with psycopg.connect(warehouse) as conn:
        for model in CUSTOMER_MODELS:
            result = train_and_evaluate(conn, cfg, model, RUN_DATE)
            assert result.status == "trained", result.reason
            decisions[model] = promotion.promote(cfg, model, result.version)
    return cfg, decisions


def test_every_install_compares_with_bgnbd_and_gamma_gamma(decided):
    cfg, decisions = decided
    for model, decision in decisions.items():
        results = registry.load(cfg, model, decision.version).path / "metrics.json"
        measured = pd.read_json(results, typ="series")["results"]
        assert {"recency", "rfm", "bgnbd", "rules"} <= set(measured), model
        assert measured["bgnbd"][MAIN_METRIC[model]] is not None
    folder = registry.model_dir(cfg, "churn_risk") / decisions["churn_risk"].version
    churn = pd.read_json(folder / "metrics.json", typ="series")["results"]
    assert "bgnbd_p_alive" in churn


def test_a_stored_baseline_scores_the_evaluation_rows_exactly_as_measured(decided):
    cfg, decisions = decided
    for model, decision in decisions.items():
        folder = registry.model_dir(cfg, model) / decision.version
        measured = pd.read_json(folder / "metrics.json", typ="series")["results"]
        rows = pd.read_parquet(folder / "eval.parquet")
        states = serving.load_states(cfg, model, decision.version)
        for method in serving.baseline_methods(model):
            again = metrics_for(model, rows, serving.predict(model, method, rows, states, cfg))
            assert again[MAIN_METRIC[model]] == pytest.approx(measured[method][MAIN_METRIC[model]], abs=1e-9), method


def test_the_best_baseline_serves_when_the_model_does_not_beat_it(warehouse: str, decided):
    cfg, decisions = decided
    for model, decision in decisions.items():
        comparison = pd.read_json(registry.model_dir(cfg, model) / decision.version / "metrics.json", typ="series")[
            "comparison"
        ]
        beats = comparison["model"] >= comparison["baseline"] + cfg.promotion_margin
        assert decision.promoted == beats
        expected = "xgboost" if beats else comparison["best_baseline"]
        assert decision.serving == expected and serving.read(cfg, model)["method"] == expected
    served = {m: d.serving for m, d in decisions.items()}
    assert "bgnbd" in served.values()  # the BG/NBD-simulated sample: its own model wins somewhere

    summary = {s["model"]: s for s in score(warehouse, cfg, RUN_DATE)}
    with psycopg.connect(warehouse) as conn:
        rows = pd.DataFrame(
            conn.execute(
                f"select model, method, is_fallback, score, reason_3 from {cfg.tables.scores} where as_of_date = %s",
                (RUN_DATE + pd.Timedelta(days=1),),
            ).fetchall(),
            columns=["model", "method", "is_fallback", "score", "reason_3"],
        )
        text = format_model_summary(conn, RUN_DATE, cfg.tables.scoring_runs)
    for model, method in served.items():
        assert summary[model]["method"] == method
        mine = rows[rows["model"] == model]
        assert set(mine["method"]) == {method} and not mine["is_fallback"].any()
        assert mine["score"].notna().all()
        if method != "xgboost":
            assert mine["reason_3"].str.startswith(f"{method} baseline serves (").all()
    churn = rows[rows["model"] == "churn_risk"]["score"]
    assert churn.between(0, 1).all()
    assert "why this baseline serves:" in text

    out = io.StringIO()
    with redirect_stdout(out):  # `python -m ml status` on this registry
        _status(cfg)
    status = out.getvalue()
    for model, method in served.items():
        assert (f"serves: {method} baseline" if method != "xgboost" else "serves: xgboost") in status, model


def test_promote_says_what_serves_and_never_kept_champion_without_one(decided, tmp_path: Path):
    cfg, decisions = decided
    loser = next(m for m, d in decisions.items() if d.serving != "xgboost")
    fresh = replace(cfg, models_dir=tmp_path)
    shutil.copytree(
        registry.model_dir(cfg, loser) / decisions[loser].version,
        registry.model_dir(fresh, loser) / decisions[loser].version,
    )
    registry.write_json(
        registry.model_dir(fresh, loser) / registry.LAST_TRAINING,
        {"run_date": str(RUN_DATE), "status": "trained", "reason": None, "version": decisions[loser].version},
    )
    out = io.StringIO()
    with redirect_stdout(out):
        _promote(fresh, [loser], None)
    line = out.getvalue()
    assert "kept champion" not in line
    assert f"not promoted, the {decisions[loser].serving} baseline serves" in line


@pytest.fixture
def no_consumables(warehouse: str, mini_orders, tmp_path: Path):
    """The mini retailer with every product non-consumable (a fashion or electronics shop)."""
    prefix = f"mlnc_{uuid.uuid4().hex[:6]}"
    cfg = make_config(tmp_path / "models", prefix)
    with psycopg.connect(warehouse, autocommit=True) as conn:
        create_tables(conn, cfg.tables, *mini_orders)
        conn.execute(f"update {cfg.tables.products} set is_consumable = false, use_cycle_days = null")
    yield cfg
    with psycopg.connect(warehouse, autocommit=True) as conn:
        for schema in (f"{prefix}_ml", f"{prefix}_core"):
            conn.execute(f"drop schema if exists {schema} cascade")


def test_a_retailer_without_consumables_trains_and_scores_without_the_category_model(warehouse: str, no_consumables):
    cfg = no_consumables
    with psycopg.connect(warehouse) as conn:
        result = train_and_evaluate(conn, cfg, "next_purchase_category", RUN_DATE)
    assert result.status == "cold_start" and "consumable" in result.reason
    assert registry.last_training(cfg, "next_purchase_category")["status"] == "cold_start"
    summary = {s["model"]: s for s in score(warehouse, cfg, RUN_DATE)}
    assert summary["next_purchase_category"]["method"] == "rules"
    assert summary["next_purchase_category"]["rows"] == 0  # nothing to remind anybody of
    assert summary["churn_risk"]["rows"] > 0

    # `python -m ml promote` for every model: the cold start is said as it is and the other models still get their
    # turn (here churn_risk, never trained in this registry, is the error); `ml status` says the same.
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = _promote(cfg, ["next_purchase_category", "churn_risk"], None)
        _status(cfg)
    assert code == 2 and "churn_risk: nothing trained yet" in err.getvalue()
    assert f"next_purchase_category: nothing to promote, cold start at the last training ({RUN_DATE})" in out.getvalue()
    assert f"last training: {RUN_DATE} cold_start: no customer bought a consumable product" in out.getvalue()


def test_too_few_evaluation_events_decide_no_promotion_and_bgnbd_serves(decided, tmp_path: Path):
    cfg, decisions = decided
    model, version = "next_purchase", decisions["next_purchase"].version
    events = pd.read_json(registry.model_dir(cfg, model) / version / "metrics.json", typ="series")["comparison"][
        "events"
    ]
    assert events >= cfg.min_evaluation_events  # the mini retailer measures: the floor decides nothing there

    def fresh(name: str, **changes) -> MLConfig:
        # a registry of its own holding only this version, the champion-less state of a first training
        other = replace(cfg, models_dir=tmp_path / name, must_beat_baselines=False, **changes)
        shutil.copytree(registry.model_dir(cfg, model) / version, registry.model_dir(other, model) / version)
        return other

    measured = promotion.promote(fresh("measured", min_evaluation_events=events), model, version)
    assert measured.promoted and measured.serving == "xgboost"  # at the floor: the first champion, as before

    strict = fresh("strict", min_evaluation_events=events + 1)
    decision = promotion.promote(strict, model, version)
    assert not decision.promoted and decision.serving == "bgnbd"
    assert decision.reason.startswith(
        f"not measurable: the evaluation window holds {events} observed repurchases, fewer than the minimum of "
        f"{events + 1} (ml.promotion.min_evaluation_events)"
    )
    assert decision.reason.endswith("the bgnbd baseline serves")
    assert registry.champion(strict, model) is None
    assert serving.read(strict, model) | {"decided_at": None} == {
        "method": "bgnbd",
        "version": version,
        "reason": decision.reason,
        "decided_at": None,
    }
    out = io.StringIO()
    with redirect_stdout(out):
        _status(strict)
    assert f"serves: bgnbd baseline (fitted with {version}): not measurable: the evaluation window holds" in (
        out.getvalue()
    )
