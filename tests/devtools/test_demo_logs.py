"""The demo's first run trains and runs the night again: the second night's log must not overwrite the first's.

A real first run of ``make demo``'s code (``devtools.demo.main``) on a small generated retailer: Airflow's
``dags test``, dbt and PostgreSQL, a fresh model registry (so the demo trains), then the re-run after training.
45 days of history keep every model in cold start, which is quick and enough: what is under test is which log file
each of the three runs writes.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from devtools import demo

pytestmark = pytest.mark.integration

END = date(2026, 6, 30)


def test_the_re_run_after_training_writes_its_own_log(
    empty_warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    landing = tmp_path / "landing"
    command = [sys.executable, "-m", "devtools.synth", "--customers", "200", "--days", "45", "--seed", "3"]
    subprocess.run([*command, "--out", str(landing), "--end-date", END.isoformat(), "--quiet"], check=True)
    state = tmp_path / "state"
    env = {"CRM_WAREHOUSE_URL": empty_warehouse, "CRM_MODELS_DIR": tmp_path / "models", "CRM_STATE_DIR": state,
           "CRM_LANDING_DIR": landing}
    for key, value in env.items():
        monkeypatch.setenv(key, str(value))  # the demo sets some of these itself: restored after the test
    monkeypatch.delenv("CRM_CONFIG", raising=False)

    assert demo.main(["--landing", str(landing), "--run-date", END.isoformat()]) == 0

    logs = state / "logs"
    first, train = logs / f"crm_nightly_{END}.log", logs / f"crm_train_{END}.log"
    rerun = logs / f"crm_nightly_{END}_after_training.log"
    assert sorted(p.name for p in logs.glob("*.log")) == sorted(p.name for p in (first, train, rerun))
    # the first night loaded the files (gate 1 ran in its ingest tasks); the re-run marked ingest done unrun
    assert "landing gate passed for customers" in first.read_text()
    assert "landing gate passed for customers" not in rerun.read_text()
    assert "score_customers" in rerun.read_text() and "crm_train" in train.read_text()
