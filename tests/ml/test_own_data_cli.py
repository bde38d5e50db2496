"""The README's own-data path followed by `python -m ml`: the commands reach that dataset's database and registry.

The demo gives each landing folder a database of its own on the embedded server and a model registry of its own;
`python -m ml train` after it used to read the default database (`relation "core.fct_orders" does not exist`).
`--print-env` prints those settings, and the README tells users to `eval` them first.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import unquote, urlparse

import psycopg
import pytest

from ml.config import Tables
from proactive_crm.warehouse import with_database
from tests.ml.conftest import RUN_DATE, create_tables, drop_uncomputed_features, simulate_orders


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, check=False, timeout=900)


@pytest.fixture
def own_dataset(warehouse: str, tmp_path: Path):
    landing = tmp_path / f"shop_{uuid.uuid4().hex[:8]}"
    landing.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CRM_WAREHOUSE_URL", "CRM_MODELS_DIR")}
    printed = _run(["-m", "devtools.demo", "--landing", str(landing), "--print-env"], env)
    assert printed.returncode == 0, printed.stderr[-2000:]
    exports = dict(line.removeprefix("export ").split("=", 1) for line in printed.stdout.splitlines())
    exports = {k: shlex.split(v)[0] for k, v in exports.items()}
    yield landing, env, exports
    shutil.rmtree(exports["CRM_MODELS_DIR"], ignore_errors=True)
    dbname = unquote(urlparse(exports["CRM_WAREHOUSE_URL"]).path.lstrip("/"))
    with psycopg.connect(with_database(exports["CRM_WAREHOUSE_URL"], "postgres"), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{dbname}" with (force)')


def test_ml_train_after_the_own_data_path_uses_that_datasets_database_and_registry(own_dataset):
    landing, env, exports = own_dataset
    slug = landing.name.lower()
    assert set(exports) >= {"CRM_WAREHOUSE_URL", "CRM_MODELS_DIR", "CRM_LANDING_DIR", "CRM_CONFIG"}
    assert f"crm_{slug}" in exports["CRM_WAREHOUSE_URL"] and exports["CRM_MODELS_DIR"].endswith(f"crm_{slug}")
    # what the demo's nightly run would have built there: the marts the models read
    with psycopg.connect(exports["CRM_WAREHOUSE_URL"], autocommit=True) as conn:
        create_tables(conn, Tables(), *simulate_orders(900, seed=7))
        drop_uncomputed_features(conn, Tables().features)

    train = _run(["-m", "ml", "train", "--model", "churn_risk", "--run-date", str(RUN_DATE)], {**env, **exports})
    assert train.returncode == 0, (train.stdout + train.stderr)[-3000:]
    assert "does not exist" not in train.stdout + train.stderr
    record = Path(exports["CRM_MODELS_DIR"]) / "churn_risk" / "last_training.json"
    assert json.loads(record.read_text())["run_date"] == str(RUN_DATE)

    status = _run(["-m", "ml", "status"], {**env, **exports})
    assert status.returncode == 0 and "churn_risk" in status.stdout and "serves:" in status.stdout


def test_ml_train_on_a_database_without_the_marts_says_how_to_reach_the_datasets_one(warehouse: str, tmp_path: Path):
    """What a user who skipped the `eval` meets: the reason and the command to run, not a traceback."""
    dbname = f"crm_nomarts_{uuid.uuid4().hex[:8]}"  # a database of its own: others' marts stay where they are
    with psycopg.connect(with_database(warehouse, "postgres"), autocommit=True) as admin:
        admin.execute(f'create database "{dbname}"')
    env = {**os.environ, "CRM_WAREHOUSE_URL": with_database(warehouse, dbname), "CRM_MODELS_DIR": str(tmp_path / "m")}
    try:
        train = _run(["-m", "ml", "train", "--model", "churn_risk", "--run-date", str(RUN_DATE)], env)
    finally:
        with psycopg.connect(with_database(warehouse, "postgres"), autocommit=True) as admin:
            admin.execute(f'drop database if exists "{dbname}" with (force)')
    assert train.returncode == 2, (train.stdout + train.stderr)[-3000:]
    assert "Traceback" not in train.stderr
    assert f'relation "core.fct_orders" does not exist in database {dbname}' in train.stderr
    assert "--print-env" in train.stderr
    recorded = json.loads((tmp_path / "m" / "churn_risk" / "last_training.json").read_text())
    assert recorded["status"] == "failed" and "core.fct_orders" in recorded["reason"]
