"""How the DAGs sit in a deployment: retries, the warehouse pool, the heavy queue, the night's deadline.

Read from the environment when a DAG file is parsed, so one image serves every environment. Light on purpose:
DAG files import it at module level.

- ``CRM_TASK_RETRIES`` (default per DAG) and ``CRM_RETRY_DELAY_SECONDS`` (default 120, doubling up to 30 minutes).
- ``CRM_WAREHOUSE_POOL`` (default ``default_pool``): the Airflow pool that dbt builds and bulk loads share, so the
  warehouse never gets more of them at once than the pool has slots (``CRM_WAREHOUSE_POOL_SLOTS`` when the
  deployment creates it, default 2).
- ``CRM_HEAVY_QUEUE`` (default ``default``): the Celery queue of training and scoring, for workers with more memory.
- ``CRM_NIGHT_DEADLINE`` (``HH:MM`` store time, default ``07:00``): when ``crm_night_deadline`` checks that the
  night's run has finished, and alerts when it has not.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

DEFAULT_POOL = "default_pool"
DEFAULT_QUEUE = "default"


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def task_defaults(default_retries: int, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    from proactive_crm.callbacks import TASK_CALLBACKS

    env = _env(env)
    return {
        # CRM_TASK_RETRIES=0 for local `airflow dags test` runs (demo, tests), which otherwise wait out the delays.
        "retries": int(env.get("CRM_TASK_RETRIES", str(default_retries))),
        "retry_delay": timedelta(seconds=int(env.get("CRM_RETRY_DELAY_SECONDS", "120"))),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        **TASK_CALLBACKS,
    }


def warehouse_pool(env: Mapping[str, str] | None = None) -> str:
    return _env(env).get("CRM_WAREHOUSE_POOL", "").strip() or DEFAULT_POOL


def warehouse_pool_slots(env: Mapping[str, str] | None = None) -> int:
    return int(_env(env).get("CRM_WAREHOUSE_POOL_SLOTS", "2"))


def heavy_queue(env: Mapping[str, str] | None = None) -> str:
    return _env(env).get("CRM_HEAVY_QUEUE", "").strip() or DEFAULT_QUEUE


def night_deadline(env: Mapping[str, str] | None = None) -> tuple[int, int]:
    value = _env(env).get("CRM_NIGHT_DEADLINE", "07:00").strip()
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value)
    if not match:
        raise ValueError(f"CRM_NIGHT_DEADLINE must be HH:MM in the store's time zone (got {value!r})")
    return int(match.group(1)), int(match.group(2))


def worker_hostname() -> str:
    """Airflow's ``[core] hostname_callable`` for several workers on one host (``make deploy-check``): the name in
    ``CRM_WORKER_HOSTNAME``, else the host's FQDN (what Airflow uses by default; containers have their own)."""
    import socket

    return os.environ.get("CRM_WORKER_HOSTNAME", "").strip() or socket.getfqdn()
