"""Run the DAGs locally with ``airflow dags test``: no scheduler, no api-server, Airflow's own SQLite metadata DB.

Used by the demo and the end-to-end tests; production deployments run the same DAG files under their scheduler.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

from proactive_crm.config import PROJECT_ROOT, ConfigError, Settings
from proactive_crm.store_calendar import nightly_start

AIRFLOW = Path(sys.executable).with_name("airflow")
# The night's last two tasks read what the night built and change nothing it publishes: a test night that checks
# loads, marts, actions or training can leave them out (tests/integration/test_nightly_dag.py opens the report of its
# first night in Chromium and checks their run log, and most modules' first night runs them too).
REPORTING_TASKS = ("dbt_docs", "nightly_report")
# A night run again right after training scores it again with the new models: what the night built before (roles,
# loads, the warehouse and its gate, retention, dbt docs) stands, so those tasks are marked done unrun
# (tests/integration/test_olist_nightly.py; the demo's re-run runs dbt docs, which its first night leaves out).
RESCORE_SKIPS = ("ensure_roles", "ingest", "build_staging", "build_warehouse", "warehouse_gate", "apply_retention",
                 "dbt_docs")


def airflow_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    home = settings.state_dir / "airflow"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PARALLELISM": "2",  # 2-core machines; the default forks 32 workers
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # A local run reports a failure at once instead of sleeping through retry delays.
        "CRM_TASK_RETRIES": "0",
        "CRM_LANDING_DIR": str(settings.landing_dir),
        "CRM_STATE_DIR": str(settings.state_dir),
        "CRM_CONFIG": str(settings.config_path),
        # Tasks import the project's packages (proactive_crm, expectations, ml) from the checkout itself.
        "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    env.update(extra or {})
    return env


def ensure_metadata_db(env: dict[str, str]) -> None:
    home = Path(env["AIRFLOW_HOME"])
    if (home / "airflow.db").exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")


def trigger_time(run_date: date, settings: Settings) -> datetime:
    """When the nightly run for ``run_date`` starts: 02:00 store time on the following day."""
    return nightly_start(run_date, settings.store_time_zone)


def dags_test(
    dag_id: str,
    run_date: date,
    settings: Settings,
    log_path: Path,
    env_extra: dict[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    skip: Sequence[str] = (),
) -> int:
    """Run ``airflow dags test`` for the business day ``run_date``; the full log goes to ``log_path``.

    ``skip`` names tasks Airflow marks successful without running them (``--mark-success-pattern``): the demo's
    re-run after training starts at scoring instead of rebuilding what the first night built, and a test night
    leaves out the steps its module does not check (each of those steps still runs in some test's whole night).
    """
    if run_date < settings.history_start_date:
        # Airflow would create the run, execute no task and report success: refuse it with the fix instead.
        raise ConfigError(
            f"business day {run_date} is before history_start_date {settings.history_start_date} "
            f"({settings.config_path}): the DAGs start there and Airflow would run no task; set "
            f"history_start_date to {run_date} or earlier"
        )
    env = airflow_env(settings, env_extra)
    ensure_metadata_db(env)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [str(AIRFLOW), "dags", "test", dag_id, trigger_time(run_date, settings).isoformat()]
    if skip:
        command += ["--mark-success-pattern", skip_pattern(skip)]
    with (
        log_path.open("w", encoding="utf-8") as log,
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if on_line is not None:
                on_line(line)
        return process.wait()


def skip_pattern(task_ids: Sequence[str]) -> str:
    """A regex matching exactly these task ids (a mapped task's id is its name: every map index is skipped)."""
    return "^(" + "|".join(re.escape(task_id) for task_id in task_ids) + ")$"
