"""The demo's first run trains and runs the night again: the second night's log must not overwrite the first's.

Airflow is replaced by a recorder here on purpose: what is under test is which log file each run of the demo
writes (the DAG runs themselves are covered by tests/integration).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from devtools import demo
from proactive_crm.config import load_settings


def test_the_re_run_after_training_writes_its_own_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("CRM_MODELS_DIR", str(tmp_path / "models"))
    settings = load_settings({**os.environ, "CRM_STATE_DIR": str(tmp_path / "state")})
    written: list[tuple[str, Path]] = []

    def recorder(dag_id: str, run_date: date, settings, log_path: Path, **_) -> int:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(f"{dag_id} {run_date}\n")
        written.append((dag_id, log_path))
        return 0

    monkeypatch.setattr(demo, "dags_test", recorder)
    night_log = settings.state_dir / "logs" / "crm_nightly_2026-10-31.log"
    recorder("crm_nightly", date(2026, 10, 31), settings, night_log)
    assert demo._train_and_rerun(settings, date(2026, 10, 31), night_log) == 0

    paths = [path for _, path in written]
    assert [dag for dag, _ in written] == ["crm_nightly", "crm_train", "crm_nightly"]
    assert len(set(paths)) == 3 and all(p.exists() for p in paths)
    assert paths[2].name == "crm_nightly_2026-10-31_after_training.log"
