"""Training, registry, promotion, scoring and cold start end to end on the mini warehouse (real PostgreSQL)."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stdout
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest
import xgboost as xgb

from ml import bgnbd, promotion, registry, serving, train
from ml.__main__ import _status
from ml.config import ColdStart, MLConfig
from ml.evaluation_report import format_model_summary
from ml.features import Feature, FeatureMismatch, design_matrix
from ml.pipeline import train_and_evaluate
from ml.score import score
from tests.ml.conftest import RUN_DATE

AS_OF = RUN_DATE + timedelta(days=1)
MODELS = ("churn_risk", "next_purchase", "value_90d", "next_purchase_category")


@pytest.fixture(scope="module")
def trained(warehouse: str, mini_warehouse: MLConfig, tmp_path_factory) -> MLConfig:
    # The mini warehouse is simulated from a BG/NBD process, so the BG/NBD baseline is the true model there and
    # would serve (tests/ml/test_serving_db.py); these tests exercise the XGBoost champion, so it is promoted anyway.
    cfg = replace(mini_warehouse, models_dir=tmp_path_factory.mktemp("trained"), must_beat_baselines=False)
    with psycopg.connect(warehouse) as conn:
        for model in MODELS:
            result = train_and_evaluate(conn, cfg, model, RUN_DATE)
            assert result.status == "trained", result.reason
            promotion.promote(cfg, model, result.version)
    return cfg


def _scores(url: str, cfg: MLConfig) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        return pd.DataFrame(
            conn.execute(
                f"select customer_id, model, model_version, method, is_fallback, score, p_order_14d, p_order_30d, "
                f"reason_1, reason_2, reason_3 from {cfg.tables.scores} where as_of_date = %s "
                "order by model, customer_id",
                (AS_OF,),
            ).fetchall(),
            columns=[
                "customer_id",
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
            ],
        )


def test_a_version_holds_native_json_model_metadata_metrics_and_report(trained: MLConfig):
    version = registry.champion(trained, "churn_risk")
    assert version is not None
    files = {p.name for p in version.path.iterdir()}
    assert {
        "model.json",
        "metadata.json",
        "metrics.json",
        "report.md",
        "eval.parquet",
        "roc.png",
        "calibration.png",
        "lift.png",
        "importance.png",
    } <= files
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".joblib"))]
    assert "learner" in json.loads((version.path / "model.json").read_text())  # XGBoost's own JSON format
    meta = version.metadata
    assert {f["name"]: f["kind"] for f in meta["features"]}["loyalty_status"] == "categorical"
    assert meta["training_window"]["eval_cutoff"] > max(meta["training_window"]["train_cutoffs"])
    assert len(meta["data_fingerprint"]) == 64 and meta["library_versions"]["xgboost"] == xgb.__version__
    metrics = json.loads((version.path / "metrics.json").read_text())
    assert {"xgboost", "recency", "rfm", "rules"} <= set(metrics["results"])
    assert any(k.startswith("xgboost_with") for k in metrics["results"]) or any(
        k.startswith("xgboost_without") for k in metrics["results"]
    )
    report = (version.path / "report.md").read_text()
    assert "ROC AUC" in report and "![ROC](roc.png)" in report and "beats every baseline" in report
    # serving mirrors the evaluation: the served model is refitted on every window up to the evaluation cut-off
    window = meta["training_window"]
    assert "model_evaluated.json" in files and version.evaluated_model_file.name == "model_evaluated.json"
    assert meta["served_fit"]["cutoffs"] == [*window["train_cutoffs"], window["eval_cutoff"]]
    assert meta["served_fit"]["rows"] == window["train_rows"] + window["eval_rows"]
    assert (version.path / "model.json").read_bytes() != (version.path / "model_evaluated.json").read_bytes()


def test_the_report_is_reproducible(warehouse: str, trained: MLConfig, tmp_path: Path):
    again = replace(trained, models_dir=tmp_path)
    with psycopg.connect(warehouse) as conn:
        result = train_and_evaluate(conn, again, "churn_risk", RUN_DATE)
    first = registry.champion(trained, "churn_risk")
    assert result.version == first.version  # same data, config and code: same version
    second = registry.load(again, "churn_risk", result.version)
    assert (second.path / "report.md").read_text() == (first.path / "report.md").read_text()
    assert (second.path / "metrics.json").read_text() == (first.path / "metrics.json").read_text()


def test_the_blend_is_chosen_on_validation_and_promotion_measures_what_evaluation_reported(trained: MLConfig):
    for model, metric in (("churn_risk", "roc_auc"), ("value_90d", "spearman")):
        version = registry.champion(trained, model)
        chosen = version.metadata["blend"]
        assert chosen is not None and chosen["metric"] >= chosen["model_alone"], model
        metrics = json.loads((version.path / "metrics.json").read_text())
        frame = pd.read_parquet(version.path / "eval.parquet")
        reported = metrics["results"]["xgboost"][metric]
        assert promotion.main_metric_on(trained, version, frame) == pytest.approx(reported, abs=1e-9), model
        if chosen["method"] is not None:  # the model's own score is reported beside the blend
            assert metrics["results"]["xgboost_unblended"][metric] != reported, model
    assert registry.champion(trained, "next_purchase").metadata["blend"] is None  # no common scale to average


def test_the_backtest_reports_the_spread_over_earlier_origins(trained: MLConfig):
    for model in ("churn_risk", "next_purchase"):
        version = registry.champion(trained, model)
        tested = json.loads((version.path / "metrics.json").read_text())["notes"]["backtest"]
        window = version.metadata["training_window"]
        origins = [o["origin"] for o in tested["origins"]]
        assert 2 <= len(origins) <= 4 and origins == sorted(origins), model
        assert set(origins) <= set(window["train_cutoffs"]) and max(origins) < window["eval_cutoff"], model
        gaps = [o["model"] - o["baseline"] for o in tested["origins"] if o["measurable"]]
        assert tested["gap_min"] == pytest.approx(min(gaps)) and tested["gap_max"] == pytest.approx(max(gaps))
        assert all(o["rows"] > 0 and o["best_baseline"] != "xgboost" for o in tested["origins"])
        assert tested["no_origin"] is None
        assert all(o["events"] > 0 and o["measurable"] == (o["events"] >= 30) for o in tested["origins"])


def _churn_model(cfg: MLConfig) -> tuple[registry.ModelVersion, xgb.Booster, list[Feature], pd.DataFrame]:
    version = registry.champion(cfg, "churn_risk")
    booster = xgb.Booster()
    booster.load_model(str(version.model_file))
    spec = [Feature.from_dict(f) for f in version.metadata["features"]]
    return version, booster, spec, pd.read_parquet(version.path / "eval.parquet")


def test_behaviour_a_more_recent_purchase_never_raises_churn_risk(trained: MLConfig):
    version, booster, spec, frame = _churn_model(trained)
    base = train.outputs("churn_risk", booster, frame, spec, 1, None)["p"]
    shift = np.minimum(frame["hist_days_since_last"].to_numpy() - 1, 30)  # the last purchase 30 days later
    recent = frame.copy()
    recent["days_since_last_order"] -= shift
    recent["hist_days_since_last"] -= shift
    recent["hist_recency"] += shift
    cutoff = pd.Timestamp(frame["as_of_date"].iloc[0]).date().isoformat()
    params = bgnbd.BGNBDParams(**version.metadata["bgnbd_params_by_cutoff"][cutoff])
    recent[list(bgnbd.feature_names(trained.horizon_days))] = bgnbd.features(params, recent, trained.horizon_days)
    moved = train.outputs("churn_risk", booster, recent, spec, 1, None)["p"]
    assert np.all(moved <= base + 1e-9)
    assert moved.mean() < base.mean()


def test_behaviour_scores_do_not_depend_on_row_order_or_customer_ids(trained: MLConfig):
    _, booster, spec, frame = _churn_model(trained)
    base = train.outputs("churn_risk", booster, frame, spec, 1, None)["p"]
    shuffled = frame.sample(frac=1.0, random_state=3).assign(customer_id=lambda f: "X" + f["customer_id"])
    again = train.outputs("churn_risk", booster, shuffled, spec, 1, None)["p"]
    np.testing.assert_allclose(again, base[shuffled.index.to_numpy()])


def test_behaviour_more_spend_means_more_expected_value(trained: MLConfig):
    version = registry.champion(trained, "value_90d")
    booster = xgb.Booster()
    booster.load_model(str(version.model_file))
    spec = [Feature.from_dict(f) for f in version.metadata["features"]]
    frame = pd.read_parquet(version.path / "eval.parquet")
    active = frame[frame["hist_days_since_last"] < 60]
    low = active[active["count_orders_365d"] <= active["count_orders_365d"].median()]
    high = active[active["count_orders_365d"] > active["count_orders_365d"].median()]
    value = lambda f: train.outputs("value_90d", booster, f, spec, 1, None)["value"].mean()  # noqa: E731
    assert value(high) > value(low)


def test_scoring_is_idempotent_and_carries_reasons(warehouse: str, trained: MLConfig):
    first = score(warehouse, trained, RUN_DATE)
    rows_first = _scores(warehouse, trained)
    second = score(warehouse, trained, RUN_DATE)
    rows_second = _scores(warehouse, trained)
    pd.testing.assert_frame_equal(rows_first, rows_second)
    assert [s["rows"] for s in first] == [s["rows"] for s in second]
    assert set(rows_first["method"]) == {"xgboost"} and not rows_first["is_fallback"].any()
    counts = rows_first.groupby("model").size()
    assert counts.nunique() == 1  # every customer once per model
    assert rows_first["reason_1"].notna().mean() > 0.95
    nxt = rows_first[rows_first.model == "next_purchase"]
    assert (nxt["p_order_14d"] <= nxt["p_order_30d"] + 1e-12).all() and (nxt["score"] > 0).all()
    churn = rows_first[rows_first.model == "churn_risk"]
    assert churn["score"].between(0, 1).all() and churn["p_order_14d"].isna().all()
    with psycopg.connect(warehouse) as conn:
        categories = conn.execute(
            f"select count(*), count(distinct (customer_id, category)), bool_and(p_purchase_7d <= p_purchase_14d) "
            f"from {trained.tables.category_scores} where as_of_date = %s",
            (AS_OF,),
        ).fetchone()
        summary = format_model_summary(conn, RUN_DATE, trained.tables.scoring_runs)
    assert categories[0] > 0 and categories[0] == categories[1]
    for model in MODELS:
        assert model in summary
    assert "rows scored" in summary and "rules" not in summary


def test_scoring_refuses_a_model_whose_features_left_the_warehouse(warehouse: str, trained: MLConfig):
    broken = replace(trained, tables=replace(trained.tables, features=trained.tables.features + "_v2"))
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute(f"create table {broken.tables.features} as select * from {trained.tables.features}")
        conn.execute(f"alter table {broken.tables.features} drop column count_orders_30d")
        conn.execute(f"alter table {broken.tables.features} alter column average_order_value type text")
        try:
            with pytest.raises(FeatureMismatch) as error:
                score(warehouse, broken, RUN_DATE)
        finally:
            conn.execute(f"drop table {broken.tables.features}")
    message = str(error.value)
    assert "missing from" in message and "count_orders_30d" in message
    assert "average_order_value (model: double precision, table: text)" in message


def _clone(cfg: MLConfig, model: str, source: str, new: str, **changes) -> str:
    src = registry.model_dir(cfg, model) / source
    dst = registry.model_dir(cfg, model) / new
    shutil.copytree(src, dst)
    if changes.get("weak"):  # same features, trained on shuffled labels: a poor model
        meta = json.loads((dst / "metadata.json").read_text())
        spec = [Feature.from_dict(f) for f in meta["features"]]
        frame = pd.read_parquet(dst / "eval.parquet")
        noise = np.random.default_rng(0).permutation(frame["label_churn"].to_numpy())
        matrix = xgb.DMatrix(design_matrix(frame, spec), label=noise, enable_categorical=True)
        weak_model = xgb.train({"objective": "binary:logistic", "nthread": 1}, matrix, 5)
        for name in ("model.json", "model_evaluated.json"):  # served and evaluated fit alike
            weak_model.save_model(str(dst / name))
        meta["blend"] = None  # a poor model on its own, not rescued by the good version's blend
        (dst / "metadata.json").write_text(json.dumps(meta))
    if "beats" in changes:
        metrics = json.loads((dst / "metrics.json").read_text())
        metrics["comparison"]["beats_every_baseline"] = changes["beats"]
        if not changes["beats"]:
            metrics["comparison"]["baseline"] = metrics["comparison"]["model"] + 0.01
        (dst / "metrics.json").write_text(json.dumps(metrics))
    if "feature" in changes:
        meta = json.loads((dst / "metadata.json").read_text())
        meta["features"].append(
            {"name": changes["feature"], "kind": "numeric", "source": "warehouse", "pg_type": "integer", "levels": []}
        )
        (dst / "metadata.json").write_text(json.dumps(meta))
    return new


def test_promotion_needs_a_margin_over_the_champion_on_the_same_rows(trained: MLConfig, tmp_path: Path):
    cfg = replace(trained, models_dir=tmp_path, must_beat_baselines=True)
    shutil.copytree(registry.model_dir(trained, "churn_risk"), registry.model_dir(cfg, "churn_risk"))
    best = registry.champion(cfg, "churn_risk").version
    weak = _clone(cfg, "churn_risk", best, "20990101-weak", weak=True)
    same = _clone(cfg, "churn_risk", best, "20990101-same")
    loser = _clone(cfg, "churn_risk", best, "20990101-nobase", beats=False)

    assert not promotion.promote(cfg, "churn_risk", same).promoted  # equal is not better by the margin
    assert not promotion.promote(cfg, "churn_risk", loser).promoted  # must beat every baseline
    lost = promotion.decide(cfg, "churn_risk", loser)  # its champion (the same model) loses to that baseline too
    assert "neither does champion" in lost.reason and lost.serving not in ("xgboost", "rules")
    assert promotion.promote(replace(cfg, promotion_margin=-1.0), "churn_risk", weak).promoted  # margin rules
    assert registry.champion(cfg, "churn_risk").version == weak
    back = promotion.promote(replace(cfg, must_beat_baselines=False), "churn_risk", same)  # BG/NBD is better here
    assert back.promoted and back.champion_version == weak and back.challenger_metric > back.champion_metric
    assert json.loads((registry.model_dir(cfg, "churn_risk") / same / "promotion.json").read_text())["promoted"]


def test_a_champion_that_cannot_score_the_rows_is_replaced_and_rollback_walks_back(trained: MLConfig, tmp_path):
    cfg = replace(trained, models_dir=tmp_path)
    shutil.copytree(registry.model_dir(trained, "churn_risk"), registry.model_dir(cfg, "churn_risk"))
    first = registry.champion(cfg, "churn_risk").version
    odd = _clone(cfg, "churn_risk", first, "20990101-odd", feature="a_column_gone_since")
    registry.set_champion(cfg, "churn_risk", odd, "promote", "test setup")
    decision = promotion.promote(cfg, "churn_risk", first)
    assert decision.promoted and "cannot score" in decision.reason and "a_column_gone_since" in decision.reason
    assert registry.rollback(cfg, "churn_risk")["version"] == odd
    assert registry.rollback(cfg, "churn_risk")["version"] == first  # rolling back twice walks further back
    with pytest.raises(registry.RegistryError, match="no predecessor"):
        registry.rollback(cfg, "churn_risk")
    assert registry.rollback(cfg, "churn_risk", to_version=odd)["version"] == odd


def test_cold_start_scores_with_the_rules_and_switches_to_models_once_data_suffices(
    warehouse: str, fresh_registry: MLConfig
):
    cold = replace(fresh_registry, cold_start=ColdStart(min_customers=100_000, min_orders=10, min_history_days=10))
    with psycopg.connect(warehouse) as conn:
        result = train_and_evaluate(conn, cold, "churn_risk", RUN_DATE)
    assert result.status == "cold_start" and "need 100,000" in result.reason
    summary = score(warehouse, cold, RUN_DATE)
    # BG/NBD needs no label window: fitted on tonight's history it serves the customer models; categories get rules
    assert {s["model"]: s["method"] for s in summary} == {
        "churn_risk": "bgnbd",
        "next_purchase": "bgnbd",
        "value_90d": "bgnbd",
        "next_purchase_category": "rules",
    }
    rows = _scores(warehouse, cold)
    assert not rows["is_fallback"].any() and set(rows["method"]) == {"bgnbd"}
    assert set(rows["model_version"]) == {"bgnbd-cold-start"}
    assert rows["reason_3"].str.contains("cold start").all() and rows["reason_3"].str.contains("need 100,000").all()
    assert rows["score"].notna().all()
    churn = rows[rows.model == "churn_risk"]
    assert churn["score"].between(0, 1).all() and churn["score"].nunique() > 10  # a fitted model, not a constant
    with psycopg.connect(warehouse) as conn:
        text = format_model_summary(conn, RUN_DATE, cold.tables.scoring_runs)
    assert "why this baseline serves: cold start" in text and "why the rules: cold start" in text

    # the same data with the configured minimums met: train, promote, and the next night (XGBoost promoted even
    # where the BG/NBD baseline is better on this BG/NBD-simulated data: test_serving_db covers that case)
    warm = replace(fresh_registry, must_beat_baselines=False)
    with psycopg.connect(warehouse) as conn:
        result = train_and_evaluate(conn, warm, "churn_risk", RUN_DATE)
    promotion.promote(warm, "churn_risk", result.version)
    score(warehouse, warm, RUN_DATE)
    methods = _scores(warehouse, warm).groupby("model")["method"].first().to_dict()
    assert methods == {"churn_risk": "xgboost", "next_purchase": "bgnbd", "value_90d": "bgnbd"}


def test_the_rules_serve_a_cold_start_only_when_bgnbd_cannot_be_fitted():
    from ml.score import COLD_START_BGNBD_VERSION, Scorer, _fitted_or_rules

    cold = Scorer("churn_risk", COLD_START_BGNBD_VERSION, "bgnbd", "cold start: 12 customers; BG/NBD fitted on ...")
    thin = bgnbd.BGNBDParams(0.5, 10.0, 0.5, 2.0, n_customers=12)
    enough = bgnbd.BGNBDParams(0.5, 10.0, 0.5, 2.0, n_customers=5_000)
    assert _fitted_or_rules(cold, enough) is cold
    for params in (thin, None):
        fallback = _fitted_or_rules(cold, params)
        assert fallback.method == "rules" and fallback.is_fallback
        assert fallback.fallback_reason.startswith("cold start: 12 customers; BG/NBD could not be fitted")


def test_a_blended_churn_probability_is_calibrated_on_the_validation_rows(trained: MLConfig):
    # The decision step spends on P(churn) x value: the level of the probability matters, not only its ranking.
    # The churn model blends in a baseline here, and a weighted mean of two probabilities is neither's level: on
    # the evaluation cut-off (rows no fit or calibration has seen) the calibrated blend's mean is the observed churn
    # rate within a few points, where the uncalibrated blend's is not; the ranking is the blend's own.
    version = registry.champion(trained, "churn_risk")
    chosen = version.metadata["blend"]
    assert chosen["method"] is not None and chosen["calibration"] is not None and chosen["calibration"]["a"] > 0
    frame = pd.read_parquet(version.path / "eval.parquet")
    observed = float(frame["label_churn"].mean())
    booster = xgb.Booster(model_file=str(version.evaluated_model_file))
    spec = [Feature.from_dict(f) for f in version.metadata["features"]]
    own = train.outputs("churn_risk", booster, frame, spec, 1, None)
    served = serving.blended(trained, version, frame, own)
    uncalibrated = serving.blended(
        trained, replace(version, metadata={**version.metadata, "blend": {**chosen, "calibration": None}}), frame, own
    )
    print(f"observed {observed:.4f} served {served['p'].mean():.4f} uncalibrated {uncalibrated['p'].mean():.4f}")
    assert abs(served["p"].mean() - observed) < 0.02
    assert abs(uncalibrated["p"].mean() - observed) > 2 * abs(served["p"].mean() - observed)
    brier = ((served["p"] - frame["label_churn"]) ** 2).mean()
    assert brier < ((uncalibrated["p"] - frame["label_churn"]) ** 2).mean()
    out = io.StringIO()
    with redirect_stdout(out):  # `python -m ml status` says where the served probability's level comes from
        _status(trained)
    lines = out.getvalue().splitlines()
    churn_line = lines[next(i for i, line in enumerate(lines) if line.startswith("churn_risk")) + 1]
    assert f"blended with {chosen['method']}" in churn_line and "probability calibrated (Platt a=" in churn_line
