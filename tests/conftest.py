"""Shared fixtures: a real PostgreSQL database per test session, and landing folders to load from.

The server is the one ``CRM_WAREHOUSE_URL`` names, or the project's embedded server when it is unset; each session
works in a database of its own (created here, dropped at the end), so tests never touch the demo's data. Under
pytest-xdist (``make test`` runs two workers) each worker is a session: a database per worker, and the embedded
server started once, by whichever worker takes the file lock first.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

# ml's package sets OMP_WAIT_POLICY=PASSIVE (ml/__init__.py says why), which the OpenMP runtime reads once, when it
# loads: imported here, before any test module loads xgboost or scikit-learn (isort puts them ahead of `ml` in a
# module's imports). The Airflow and dbt subprocesses of the tests inherit the setting.
import ml  # noqa: F401 (the import is the setting)
from proactive_crm.config import PROJECT_ROOT, Settings, load_settings
from proactive_crm.warehouse import warehouse_url, with_database

# What each module that runs whole nights costs, setup included (seconds, `--durations` of `make test` on a busy
# 2-core machine). Under `make test` each pytest-xdist worker takes whole files in collection order
# (`--dist loadfile --no-loadscope-reorder`): these go first, longest first, so that the last files the workers
# take are short ones and both finish together. xdist's own order (most tests first) left the two-test modules that
# run a whole night to the end, where one worker ran them while the other had finished. A module not listed here
# that is marked integration counts as DEFAULT_INTEGRATION_SECONDS. test_nightly_dag (which took over the report's
# checks), test_olist_nightly (with the full copy) and test_train_without_consumables were rescaled from single-module
# runs (benchmarks/README.md, "make test: two workers").
WHOLE_NIGHT_SECONDS = {
    "tests/integration/test_olist_nightly.py": 320,
    "tests/integration/test_actions_loop.py": 220,
    "tests/integration/test_nightly_dag.py": 290,
    "tests/integration/test_privacy_erasure.py": 170,
    "tests/integration/test_store_time_zones.py": 150,
    "tests/integration/test_warehouse_kpis.py": 150,
    "tests/integration/test_train_without_consumables.py": 200,
    "tests/integration/test_history_before_2000.py": 120,
    "tests/devtools/test_demo_logs.py": 150,
}
DEFAULT_INTEGRATION_SECONDS = 60


def expected_seconds(item: pytest.Item) -> int:
    module = item.nodeid.split("::", 1)[0]
    if module in WHOLE_NIGHT_SECONDS:
        return WHOLE_NIGHT_SECONDS[module]
    return DEFAULT_INTEGRATION_SECONDS if item.get_closest_marker("integration") else 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs the database: ``make test-fast`` runs the others (``-m "not warehouse"``); then
    put the modules that run whole nights first, longest first (a stable sort: tests keep their order in a module).
    """
    for item in items:
        if "warehouse" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.warehouse)
    items.sort(key=lambda item: -expected_seconds(item))


def _server_url() -> str:
    """The warehouse server's URL; the embedded server is started under a lock so that two workers starting at
    once do not both create the pipeline's database."""
    settings = load_settings({**os.environ, "CRM_STATE_DIR": str(PROJECT_ROOT / ".crm")})
    if os.environ.get("CRM_WAREHOUSE_URL"):
        return warehouse_url(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with (settings.state_dir / "test-server.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return warehouse_url(settings)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a fresh, empty test database; also exported as CRM_WAREHOUSE_URL for dbt and Airflow subprocesses."""
    server_url = _server_url()
    dbname = f"crm_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'create database "{dbname}"')
    url = with_database(server_url, dbname)
    previous = os.environ.get("CRM_WAREHOUSE_URL")
    os.environ["CRM_WAREHOUSE_URL"] = url
    try:
        yield url
    finally:
        if previous is None:
            os.environ.pop("CRM_WAREHOUSE_URL", None)
        else:
            os.environ["CRM_WAREHOUSE_URL"] = previous
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{dbname}" with (force)')


@pytest.fixture(scope="session")
def dagbag(tmp_path_factory: pytest.TempPathFactory):
    """Every DAG file in ``dags/`` parsed once per session, as the dag-processor parses it (no metadata database)."""
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags"))


@pytest.fixture(scope="module")
def empty_warehouse(warehouse: str) -> str:
    """The test database with every schema an earlier module built dropped, for tests that run whole nights.

    Generated samples reuse identifiers (O000000005 exists in every sample), so a night loaded on top of another
    module's raw tables would mix two retailers' orders and rightly fail the warehouse gate. The ML tests' mini
    warehouse (``mlt_*`` schemas, built once per session by tests/ml/conftest.py) is no night's and stays: under
    pytest-xdist a worker may run a night module between two ML modules.
    """
    with psycopg.connect(warehouse, autocommit=True) as connection:
        schemas = connection.execute(
            "select schema_name from information_schema.schemata "
            "where schema_name not like 'pg\\_%' and schema_name not like 'mlt\\_%' "
            "and schema_name not in ('information_schema', 'public')"
        ).fetchall()
        for (schema,) in schemas:
            connection.execute(f'drop schema "{schema}" cascade')
    return warehouse


@pytest.fixture
def conn(warehouse: str) -> Iterator[psycopg.Connection]:
    """A connection to the test database whose raw/staging schemas start empty for each test."""
    with psycopg.connect(warehouse, autocommit=True) as connection:
        for schema in ("raw", "staging", "ops"):
            connection.execute(f"drop schema if exists {schema} cascade")
        yield connection


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    root.mkdir()
    return root


@pytest.fixture
def settings(landing: Path, tmp_path: Path) -> Settings:
    return load_settings({**os.environ, "CRM_LANDING_DIR": str(landing), "CRM_STATE_DIR": str(tmp_path / "state")})


def write_partition(landing: Path, source: str, day: str, text: str, name: str = "part-00000.csv") -> Path:
    """Write one landing file, dedenting nothing: tests spell the exact bytes a retailer would send."""
    folder = landing / source / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
