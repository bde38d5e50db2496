"""A retailer whose history starts in 1997: the nightly DAG and crm_train run every task on it (real Airflow, dbt).

Before, the DAGs' start_date of 2000 made `airflow dags test` for a 1997 day run no task and report success, and
the calendar spine's fixed 2000 start failed `int_calendar_days` ("upper bound must be positive").
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import psycopg
import pytest

from ml.config import MODEL_NAMES
from proactive_crm.config import ConfigError, load_settings
from proactive_crm.local_airflow import dags_test
from proactive_crm.report import count_landing_rows

pytestmark = pytest.mark.integration

END = date(1997, 6, 30)


@pytest.fixture(scope="module")
def retailer_1997(empty_warehouse: str, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("history_1997")
    landing = root / "landing"
    command = [sys.executable, "-m", "proactive_crm.synth", "--customers", "200", "--days", "45", "--seed", "3"]
    command += ["--out", str(landing), "--end-date", END.isoformat(), "--quiet"]
    subprocess.run(command, check=True)
    settings = load_settings({**os.environ, "CRM_LANDING_DIR": str(landing), "CRM_STATE_DIR": str(root / "state")})
    env = {"CRM_WAREHOUSE_URL": empty_warehouse, "CRM_MODELS_DIR": str(root / "models")}
    return settings, env, root


def test_a_night_in_1997_runs_every_task_and_builds_the_marts(retailer_1997, empty_warehouse: str):
    settings, env, root = retailer_1997
    code = dags_test("crm_nightly", END, settings, root / "nightly.log", env_extra=env)
    log = (root / "nightly.log").read_text()
    assert code == 0, log[-3000:]
    with psycopg.connect(empty_warehouse) as conn:
        orders = conn.execute("select count(*), min(ordered_date) from core.fct_orders").fetchone()
        first_day = conn.execute("select min(date_day), max(date_day) from intermediate.int_calendar_days").fetchone()
        scored = conn.execute("select count(*) from ml.customer_scores").fetchone()[0]
    assert orders[0] > 0 and orders[1] < date(2000, 1, 1)
    assert first_day[0] <= orders[1] and first_day[1] == END  # the spine covers the data, through the run date
    assert scored > 0  # the last task before actions ran: not a run of zero tasks
    assert count_landing_rows(settings.landing_dir, END)["orders"] > 0


def test_crm_train_completes_on_1997_history(retailer_1997):
    settings, env, root = retailer_1997
    code = dags_test("crm_train", END, settings, root / "train.log", env_extra=env)
    log = (root / "train.log").read_text()
    assert code == 0, log[-3000:]
    for model in MODEL_NAMES:  # 45 days of history: every model records its cold start, none crashes
        assert (Path(env["CRM_MODELS_DIR"]) / model / "last_training.json").exists(), model


def test_a_day_before_history_start_date_is_refused_with_the_setting_to_change(tmp_path: Path):
    config = tmp_path / "pipeline.yml"
    config.write_text("store_time_zone: UTC\nhistory_start_date: 2001-01-01\n")
    settings = load_settings({**os.environ, "CRM_CONFIG": str(config), "CRM_STATE_DIR": str(tmp_path / "state")})
    assert settings.history_start_date == date(2001, 1, 1)
    with pytest.raises(ConfigError, match=r"before history_start_date 2001-01-01 .*set history_start_date"):
        dags_test("crm_nightly", END, settings, tmp_path / "never.log")
    assert not (tmp_path / "never.log").exists()
    config.write_text("history_start_date: soon\n")
    with pytest.raises(ConfigError, match="history_start_date must be a date"):
        load_settings({**os.environ, "CRM_CONFIG": str(config)})


def test_the_demo_refuses_a_day_before_history_start_date_with_the_fix_and_no_summary(
    tmp_path: Path, warehouse: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    from proactive_crm import demo

    config = tmp_path / "pipeline.yml"
    config.write_text("store_time_zone: UTC\nhistory_start_date: 2001-01-01\n")
    landing = tmp_path / "landing"
    landing.mkdir()
    for key, value in {"CRM_CONFIG": config, "CRM_LANDING_DIR": landing, "CRM_STATE_DIR": tmp_path / "state"}.items():
        monkeypatch.setenv(key, str(value))  # the demo sets some of these itself: restored after the test
    code = demo.main(["--landing", str(landing), "--run-date", END.isoformat(), "--config", str(config)])
    shown = capsys.readouterr()
    assert code == 2
    assert f"error: business day {END} is before history_start_date 2001-01-01" in shown.err
    assert "Traceback" not in shown.err and "What was loaded" not in shown.out  # nothing ran: nothing to summarise
