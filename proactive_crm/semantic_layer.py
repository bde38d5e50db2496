"""MetricFlow queries of the semantic layer (dbt_project/models/semantic/) against the configured warehouse.

``python -m proactive_crm mf query --metrics revenue,retention_rate --group-by metric_time__month`` runs the
``mf`` command of dbt-metricflow with the connection parts of CRM_WAREHOUSE_URL. MetricFlow reads the semantic
manifest from ``dbt_project/target/``, so a ``dbt parse`` writes it there first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from proactive_crm.config import Settings
from proactive_crm.dbt_runner import DBT_PROJECT_DIR
from proactive_crm.warehouse import dbt_env

MF = Path(sys.executable).with_name("mf")


def _env(url: str, settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        **dbt_env(url),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_LOG_PATH": str(settings.state_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MF_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def write_semantic_manifest(url: str, settings: Settings) -> Path:
    """``dbt parse`` into dbt_project/target, where MetricFlow looks for semantic_manifest.json."""
    target = DBT_PROJECT_DIR / "target"
    command = [sys.executable, "-m", "dbt.cli.main", "parse", "--project-dir", str(DBT_PROJECT_DIR),
               "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target)]
    completed = subprocess.run(command, env=_env(url, settings), cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    manifest = target / "semantic_manifest.json"
    if completed.returncode != 0 or not manifest.exists():
        raise RuntimeError(f"dbt parse failed (exit {completed.returncode}):\n{completed.stdout[-3000:]}")
    return manifest


def metricflow(args: list[str], url: str, settings: Settings, capture: bool = False) -> subprocess.CompletedProcess:
    """Run ``mf <args>`` on the project's semantic layer against the warehouse at ``url``."""
    write_semantic_manifest(url, settings)
    return subprocess.run(
        [str(MF), *args], env=_env(url, settings), cwd=DBT_PROJECT_DIR, capture_output=capture, text=True
    )
