"""crm_train on a generated retailer that sells no consumables (a fashion shop): real Airflow, dbt and PostgreSQL.

Before, `next_purchase_category` handed xgboost an empty matrix (`cannot call 'vectorize' on size 0 inputs`) and
the run failed. The replenishment model must cold-start with its reason while the other models train and are
promoted; and a model whose training does fail holds back only its own promotion, is recorded as failed, and no
earlier run's outcome is reported as this run's (the demo printed stale "not promoted" lines).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
import yaml

from devtools import demo
from devtools.local_airflow import REPORTING_TASKS, dags_test
from ml.config import ml_config
from ml.promotion import last_decision
from ml.registry import last_training
from proactive_crm.config import PROJECT_ROOT, load_settings

pytestmark = pytest.mark.integration

END = date(2026, 6, 30)
CUSTOMER_MODELS = ("churn_risk", "next_purchase", "value_90d")


def _sell_no_consumables(landing: Path) -> int:
    """Every product of the generated catalogue becomes a durable; returns how many product rows changed."""
    changed = 0
    for part in sorted((landing / "products").rglob("*.csv")):
        with part.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames, list(reader)
        for row in rows:
            changed += row["is_consumable"] == "true"
            row["is_consumable"], row["use_cycle_days"] = "false", ""
        with part.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    return changed


@pytest.fixture(scope="module")
def fashion_shop(empty_warehouse: str, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("fashion_shop")
    landing = root / "landing"
    command = [sys.executable, "-m", "devtools.synth", "--customers", "700", "--days", "300", "--seed", "5"]
    command += ["--out", str(landing), "--end-date", END.isoformat(), "--quiet"]
    subprocess.run(command, check=True)
    assert _sell_no_consumables(landing) > 0
    # a small shop: enough customers to train on, below the default cold-start floor of 500
    config = root / "pipeline.yml"
    default = (PROJECT_ROOT / "config" / "pipeline.yml").read_text(encoding="utf-8")
    assert "min_customers: 500" in default
    pipeline = yaml.safe_load(default.replace("min_customers: 500", "min_customers: 300"))
    # What is under test is which models train, fail or cold-start and what is promoted, not how good they are:
    # fewer trees (ml.training settings; the default is up to 600 with early stopping after 40) train in a fraction
    # of the time, through the same code.
    pipeline["ml"]["training"].update({"num_boost_round": 60, "early_stopping_rounds": 10})
    config.write_text(yaml.safe_dump(pipeline), encoding="utf-8")
    env = {"CRM_WAREHOUSE_URL": empty_warehouse, "CRM_MODELS_DIR": str(root / "models"), "CRM_CONFIG": str(config)}
    settings = load_settings({**os.environ, **env, "CRM_LANDING_DIR": str(landing), "CRM_STATE_DIR": str(root)})
    # The night builds what training reads; its docs and report are checked elsewhere (test_nightly_dag.py).
    code = dags_test("crm_nightly", END, settings, root / "nightly.log", env_extra=env, skip=REPORTING_TASKS)
    assert code == 0, (root / "nightly.log").read_text()[-3000:]
    return settings, env, root


def _cfg(settings, env):
    return ml_config(settings, {**os.environ, **env})


def test_crm_train_completes_and_only_the_replenishment_model_cold_starts(fashion_shop):
    settings, env, root = fashion_shop
    code = dags_test("crm_train", END, settings, root / "train.log", env_extra=env)
    assert code == 0, (root / "train.log").read_text()[-3000:]
    cfg = _cfg(settings, env)
    category = last_training(cfg, "next_purchase_category")
    assert category["status"] == "cold_start" and "is_consumable" in category["reason"], category
    for model in CUSTOMER_MODELS:
        trained = last_training(cfg, model)
        assert trained["status"] == "trained", (model, trained)
        decision = last_decision(cfg, model)  # the model's promote task ran on this version
        assert decision is not None and decision["version"] == trained["version"], model


def test_a_model_that_fails_to_train_holds_back_only_its_own_promotion(
    fashion_shop, empty_warehouse: str, monkeypatch: pytest.MonkeyPatch
):
    settings, env, root = fashion_shop
    # A real failure for one model only: the replenishment model reads core.dim_products, the customer models not.
    with psycopg.connect(empty_warehouse, autocommit=True) as conn:
        conn.execute("alter table core.dim_products rename to dim_products_elsewhere")
    started = datetime.now(UTC).replace(microsecond=0)
    try:
        code = dags_test("crm_train", END, settings, root / "train_broken.log", env_extra=env)
    finally:
        with psycopg.connect(empty_warehouse, autocommit=True) as conn:
            conn.execute("alter table core.dim_products_elsewhere rename to dim_products")
    log = (root / "train_broken.log").read_text()
    assert code == 1, log[-3000:]  # the run says that something failed

    cfg = _cfg(settings, env)
    failed = last_training(cfg, "next_purchase_category")
    assert failed["status"] == "failed" and "dim_products" in failed["reason"], failed
    for model in CUSTOMER_MODELS:
        trained = last_training(cfg, model)
        assert trained["status"] == "trained" and datetime.fromisoformat(trained["recorded_at"]) >= started
        decision = last_decision(cfg, model)
        assert decision is not None and decision["version"] == trained["version"], model

    # What the demo prints after this run: the failure as it is, no earlier run's outcome in its place.
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    lines = demo.training_outcomes(since=started)
    assert any(line.startswith("next_purchase_category: training FAILED: UndefinedTable") for line in lines), lines
    assert not any("cold start" in line or "recorded no training" in line for line in lines), lines
    assert sum(f": trained {last_training(cfg, m)['version']}" in "\n".join(lines) for m in CUSTOMER_MODELS) == 3


def test_a_text_feature_the_retailer_never_fills_trains_as_an_empty_column(
    fashion_shop,
    empty_warehouse: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
):
    """A shop without product categories has `top_category` null on every feature row. Before, the categorical
    had no level and xgboost's DMatrix failed (`cannot call vectorize on size 0 inputs`): crm_train failed."""
    from proactive_crm.tasks.train import train_model

    settings, env, root = fashion_shop
    with psycopg.connect(empty_warehouse, autocommit=True) as conn:
        conn.execute(
            "create table ml.top_category_kept as select customer_id, as_of_date, top_category "
            "from ml.ml_customer_features"
        )
        conn.execute("update ml.ml_customer_features set top_category = null")
    for key, value in {**env, "CRM_MODELS_DIR": str(tmp_path / "models")}.items():
        monkeypatch.setenv(key, value)
    try:
        with caplog.at_level("WARNING", logger="ml.features"):
            result = train_model("churn_risk", END)  # what crm_train's train task calls
    finally:
        with psycopg.connect(empty_warehouse, autocommit=True) as conn:
            conn.execute(
                "update ml.ml_customer_features as f set top_category = k.top_category "
                "from ml.top_category_kept as k where (f.customer_id, f.as_of_date) = "
                "(k.customer_id, k.as_of_date)"
            )
            conn.execute("drop table ml.top_category_kept")
    assert result["status"] == "trained", result
    assert any(
        "top_category" in r.getMessage() and "null in every training row" in r.getMessage() for r in caplog.records
    ), [r.getMessage() for r in caplog.records]
    cfg = _cfg(settings, {**env, "CRM_MODELS_DIR": str(tmp_path / "models")})
    from ml.registry import load

    spec = load(cfg, "churn_risk", str(result["version"])).metadata["features"]
    assert any(f["name"] == "top_category" for f in spec)  # still in the spec: scoring matches the table's columns
