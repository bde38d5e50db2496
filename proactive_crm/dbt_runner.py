"""Run dbt against the warehouse and keep what it reports.

dbt runs as a subprocess (clean logging and globals inside Airflow's task process) with the connection parts
derived from the one warehouse URL. After each invocation the per-node timings of ``run_results.json`` are
logged and stored in ``ops.dbt_node_runs`` so slow models show up in the run log and in BI.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
import yaml

from proactive_crm.config import PROJECT_ROOT, ConfigError, Settings
from proactive_crm.warehouse import dbt_env

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
# The dbt values that change with each night (macro night_var reads them from CRM_DBT_NIGHT at execution).
NIGHT_VARS = ("run_date", "action_triggers", "decision_at")

# The dbt vars that pipeline.yml's `warehouse:` section may set, and the kind of value each takes. Their defaults
# and meaning live in dbt_project.yml (one place, also for dbt commands typed by hand); run_date and
# store_time_zone come from the run and the top of pipeline.yml instead.
WAREHOUSE_VARS: dict[str, type] = {
    "active_max_days": int,
    "at_risk_max_days": int,
    "late_data_days": int,
    "web_lookback_days": int,
    "session_timeout_minutes": int,
    "actions_lookback_days": int,
    "calendar_start_date": date,
    "as_of_grain": str,
}
WAREHOUSE_CHOICES: dict[str, tuple[str, ...]] = {"as_of_grain": ("month", "week")}

OPS_DDL = """
create schema if not exists ops;
create table if not exists ops.dbt_node_runs (
    invocation_id text not null,
    run_date date,
    command text not null,
    unique_id text not null,
    resource_type text,
    status text,
    execution_seconds double precision,
    rows_affected bigint,
    message text,
    recorded_at timestamptz not null default now(),
    primary key (invocation_id, unique_id)
);
"""


class DbtError(RuntimeError):
    """dbt reported errors or failed tests; the message lists them."""


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    resource_type: str
    status: str
    execution_seconds: float
    rows_affected: int | None
    message: str | None


def target_dir(settings: Settings) -> Path:
    return settings.state_dir / "dbt" / "target"


def project_vars() -> dict[str, object]:
    """The vars dbt_project.yml declares, with their defaults."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return dict(project.get("vars") or {})


def warehouse_vars(settings: Settings) -> dict[str, object]:
    """pipeline.yml's `warehouse:` section, validated, as dbt vars (only the keys it sets)."""
    section = settings.section("warehouse")
    where = f"{settings.config_path}: warehouse"
    unknown = sorted(set(section) - set(WAREHOUSE_VARS))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(WAREHOUSE_VARS)}")
    chosen: dict[str, object] = {}
    for key, value in section.items():
        if WAREHOUSE_VARS[key] is date:
            if not isinstance(value, date):  # YAML reads an unquoted 2000-01-01 as a date
                try:
                    value = date.fromisoformat(str(value))
                except ValueError:
                    raise ConfigError(f"{where}.{key}: must be a date YYYY-MM-DD, found {value!r}") from None
            chosen[key] = value.isoformat()
        elif WAREHOUSE_VARS[key] is str:
            if value not in WAREHOUSE_CHOICES[key]:
                raise ConfigError(f"{where}.{key}: must be one of {', '.join(WAREHOUSE_CHOICES[key])}, found {value!r}")
            chosen[key] = value
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}.{key}: must be a whole number of at least 1, found {value!r}")
        else:
            chosen[key] = value
    thresholds = {**project_vars(), **chosen}
    if int(str(thresholds["active_max_days"])) >= int(str(thresholds["at_risk_max_days"])):
        raise ConfigError(
            f"{where}: active_max_days ({thresholds['active_max_days']}) must be below at_risk_max_days "
            f"({thresholds['at_risk_max_days']}): a customer is active, then at risk, then lapsed"
        )
    return chosen


def run_dbt(
    args: list[str],
    url: str,
    settings: Settings,
    run_date: date | None = None,
    extra_vars: dict[str, object] | None = None,
) -> tuple[int, str, list[NodeResult]]:
    """Run one dbt command; return (exit code, invocation id, node results)."""
    # The store's zone is pipeline configuration (pipeline.yml), not a dbt default: one setting for the loader,
    # the DAG schedule and the customer profiles.
    # The warehouse thresholds too (pipeline.yml's `warehouse:` section): the customer's lifecycle and how far
    # back incremental models reach for late data are the retailer's choice, not the dbt project's.
    dbt_vars = {"store_time_zone": settings.store_time_zone, **warehouse_vars(settings), **(extra_vars or {})}
    if run_date is not None:
        dbt_vars["run_date"] = run_date.isoformat()
    # The values that change from night to night go to the environment, read at execution (macro night_var): in
    # --vars, each new business day made dbt re-parse the whole project (dbt_project.yml says more).
    night = {name: dbt_vars.pop(name) for name in NIGHT_VARS if name in dbt_vars}
    command = [
        sys.executable,
        "-m",
        "dbt.cli.main",
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target_dir(settings)),
    ]
    if dbt_vars and args and args[0] not in ("deps", "clean", "debug"):
        command += ["--vars", json.dumps(dbt_vars)]
    env = {
        **os.environ,
        **dbt_env(url),
        "DBT_LOG_PATH": str(settings.state_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "CRM_DBT_NIGHT": json.dumps(night, default=str),
    }
    log.info("dbt %s", " ".join(args))
    completed = subprocess.run(command, env=env, cwd=DBT_PROJECT_DIR, check=False)
    invocation_id, results = read_run_results(target_dir(settings) / "run_results.json")
    return completed.returncode, invocation_id, results


def read_run_results(path: Path) -> tuple[str, list[NodeResult]]:
    if not path.exists():
        return "", []
    payload = json.loads(path.read_text(encoding="utf-8"))
    results = [
        NodeResult(
            unique_id=r["unique_id"],
            resource_type=r["unique_id"].split(".", 1)[0],
            status=str(r["status"]),
            execution_seconds=float(r.get("execution_time") or 0.0),
            rows_affected=(r.get("adapter_response") or {}).get("rows_affected"),
            message=r.get("message"),
        )
        for r in payload.get("results", [])
    ]
    return payload.get("metadata", {}).get("invocation_id", ""), results


def record_results(
    conn: psycopg.Connection, invocation_id: str, command: str, run_date: date | None, results: list[NodeResult]
) -> None:
    with conn.transaction():
        conn.execute(OPS_DDL)
        with conn.cursor() as cur:
            cur.executemany(
                "insert into ops.dbt_node_runs (invocation_id, run_date, command, unique_id, resource_type, status, "
                "execution_seconds, rows_affected, message) values (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "on conflict do nothing",
                [
                    (
                        invocation_id,
                        run_date,
                        command,
                        r.unique_id,
                        r.resource_type,
                        r.status,
                        r.execution_seconds,
                        r.rows_affected,
                        (r.message or "")[:2000],
                    )
                    for r in results
                ],
            )


def timing_report(results: list[NodeResult], top: int = 10) -> str:
    slowest = sorted(results, key=lambda r: r.execution_seconds, reverse=True)[:top]
    lines = [f"{r.execution_seconds:7.2f}s  {r.status:<7} {r.unique_id}" for r in slowest]
    return "\n".join(lines)


def build(
    selector: str,
    url: str,
    settings: Settings,
    run_date: date,
    conn: psycopg.Connection,
    full_refresh: bool = False,
    extra_vars: dict[str, object] | None = None,
) -> list[NodeResult]:
    """``dbt build --select <selector>`` (``--full-refresh`` rebuilds the incremental models); record timings; raise
    DbtError naming every failed node."""
    args = ["build", "--select", selector, *(["--full-refresh"] if full_refresh else [])]
    # A full refresh tests the incremental web tables on their whole history, not only the look-back window.
    extra_vars = {**(extra_vars or {}), **({"test_full_history": True} if full_refresh else {})}
    code, invocation_id, results = run_dbt(args, url, settings, run_date, extra_vars)
    command = " ".join(args)
    if invocation_id:
        record_results(conn, invocation_id, command, run_date, results)
    log.info("dbt %s: %d nodes; slowest:\n%s", command, len(results), timing_report(results))
    failed = [r for r in results if r.status in ("error", "fail", "runtime error")]
    if code != 0 or failed:
        details = "\n".join(f"- {r.unique_id}: {r.status}: {(r.message or '').strip()[:500]}" for r in failed)
        raise DbtError(
            f"dbt {command} failed (exit {code}); "
            f"{len(failed)} node(s) failed:\n{details or '- see the dbt log above'}\n"
            f"Logs: {settings.state_dir / 'dbt' / 'logs'}"
        )
    return results
