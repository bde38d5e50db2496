"""The run log: one row per task try in ``ops.run_log``, one row per night in ``ops.night_summary``.

Airflow keeps its own task history in its metadata database, which a deployment may prune and BI should not read.
The warehouse keeps what an operator asks the morning after: which task ran where and how often, how long it took,
how many rows went in and out, what the gates said, and per night the rows loaded and rejected, the headline KPIs,
the actions published per channel and the time per stage.

Rows are written by Airflow callbacks (``proactive_crm.callbacks``); every write is an upsert keyed on the run, the
task, the map index and the try number, so a callback that runs twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg

RUN_LOG_DDL = """
create schema if not exists ops;
create table if not exists ops.run_log (
    dag_id text not null,
    run_id text not null,
    task_id text not null,
    map_index integer not null default -1,
    try_number integer not null,
    business_date date,
    state text not null,
    hostname text,
    queue text,
    pool text,
    started_at timestamptz,
    ended_at timestamptz,
    duration_seconds double precision,
    rows_in bigint,
    rows_out bigint,
    gate_results jsonb,
    result jsonb,
    error text,
    recorded_at timestamptz not null default now(),
    primary key (dag_id, run_id, task_id, map_index, try_number)
);
comment on table ops.run_log is 'One row per Airflow task try (proactive_crm/runlog.py): where it ran, its state, '
    'timings, rows in/out and gate results.';
create table if not exists ops.night_summary (
    dag_id text not null,
    run_id text not null,
    business_date date,
    state text not null,
    started_at timestamptz,
    ended_at timestamptz,
    duration_seconds double precision,
    rows_loaded bigint,
    rows_rejected bigint,
    kpis jsonb,
    actions_published jsonb,
    stage_seconds jsonb,
    failed_tasks jsonb,
    recorded_at timestamptz not null default now(),
    primary key (dag_id, run_id)
);
comment on table ops.night_summary is 'One row per DAG run (proactive_crm/runlog.py): rows loaded and rejected, '
    'headline KPIs, actions published per channel, seconds per stage.';
"""

# The KPI columns an operator reads first; the marts hold the rest.
HEADLINE_KPIS = ("count_customers", "count_orders", "revenue", "average_order_value", "retention_rate",
                 "satisfaction_rate")


@dataclass(frozen=True)
class TaskRecord:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    state: str
    business_date: date | None = None
    hostname: str | None = None
    queue: str | None = None
    pool: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    result: Mapping[str, Any] | None = None
    error: str | None = None

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return round((self.ended_at - self.started_at).total_seconds(), 3)


def rows_in_out(result: Mapping[str, Any] | None) -> tuple[int | None, int | None]:
    """Rows a task read and wrote, from what the task returned (the ingest tasks and the publish report them)."""
    if not isinstance(result, Mapping):
        return None, None
    rows_in = result.get("rows_read", result.get("candidates"))
    rows_out = result.get("rows_loaded")
    published = result.get("published")
    if rows_out is None and isinstance(published, Mapping):
        rows_out = sum(int(v) for v in published.values())
    selected = result.get("selected_by_channel")
    if rows_out is None and isinstance(selected, Mapping):
        rows_out = sum(int(v) for v in selected.values())
    return (int(rows_in) if rows_in is not None else None, int(rows_out) if rows_out is not None else None)


def gate_results(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A gate task's verdict (expectations evaluated, warnings); ingest reports its landing gate's warnings."""
    if not isinstance(result, Mapping):
        return None
    keys = ("expectations", "failed_warning", "quality_warnings")
    found = {key: result[key] for key in keys if key in result}
    return found or None


def ensure_ops_schema(conn: psycopg.Connection) -> None:
    conn.execute(RUN_LOG_DDL)


def record_task(conn: psycopg.Connection, record: TaskRecord) -> None:
    rows_in, rows_out = rows_in_out(record.result)
    gates = gate_results(record.result)
    with conn.transaction():
        ensure_ops_schema(conn)
        conn.execute(
            """
            insert into ops.run_log (dag_id, run_id, task_id, map_index, try_number, business_date, state, hostname,
                queue, pool, started_at, ended_at, duration_seconds, rows_in, rows_out, gate_results, result, error)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (dag_id, run_id, task_id, map_index, try_number) do update set
                state = excluded.state, hostname = excluded.hostname, ended_at = excluded.ended_at,
                duration_seconds = excluded.duration_seconds, rows_in = excluded.rows_in,
                rows_out = excluded.rows_out, gate_results = excluded.gate_results, result = excluded.result,
                error = excluded.error, recorded_at = now()
            """,
            (
                record.dag_id, record.run_id, record.task_id, record.map_index, record.try_number,
                record.business_date, record.state, record.hostname, record.queue, record.pool, record.started_at,
                record.ended_at, record.duration_seconds, rows_in, rows_out,
                _json(gates), _json(record.result), (record.error or None) and record.error[:4000],
            ),
        )


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


def _table_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


def night_figures(conn: psycopg.Connection, run_id: str, business_date: date | None) -> dict[str, Any]:
    """Rows loaded and rejected by this run, the day's headline KPIs and the actions published per channel."""
    figures: dict[str, Any] = {"rows_loaded": None, "rows_rejected": None, "kpis": None, "actions_published": None}
    if _table_exists(conn, "raw.load_audit"):
        loaded, rejected = conn.execute(
            "select coalesce(sum(rows_loaded), 0), coalesce(sum(rows_rejected), 0) from raw.load_audit "
            "where run_id = %s and status = 'loaded'",
            (run_id,),
        ).fetchone()
        figures["rows_loaded"], figures["rows_rejected"] = int(loaded), int(rejected)
    if business_date is None:
        return figures
    kpis = {}
    periods = (("day", "kpi.kpi_customer_health_daily"), ("month_to_date", "kpi.kpi_customer_health_monthly"))
    for period, table in periods:
        if not _table_exists(conn, table):
            continue
        row = conn.execute(
            f"select {', '.join(HEADLINE_KPIS)} from {table} "
            "where period_end = %s and dimension = 'overall' order by period_start desc limit 1",
            (business_date,),
        ).fetchone()
        if row is not None:
            kpis[period] = {k: (float(v) if v is not None else None) for k, v in zip(HEADLINE_KPIS, row, strict=True)}
    figures["kpis"] = kpis or None
    from proactive_crm.actions import contract

    published: dict[str, int] = {}
    for channel in contract.TABLES:
        table = contract.table_name(channel)
        if _table_exists(conn, table):
            count = conn.execute(f"select count(*) from {table} where run_date = %s", (business_date,)).fetchone()
            published[channel] = int(count[0])
    figures["actions_published"] = published or None
    return figures


def record_night(
    conn: psycopg.Connection,
    dag_id: str,
    run_id: str,
    state: str,
    business_date: date | None,
    started_at: datetime | None,
    ended_at: datetime | None,
) -> dict[str, Any]:
    """Write the night's summary row from the run log and the warehouse; return what was written."""
    with conn.transaction():
        ensure_ops_schema(conn)
        stages = conn.execute(
            # A mapped stage (ingest) counts from its first start to its last end; every try counts.
            "select task_id, extract(epoch from max(ended_at) - min(started_at)) from ops.run_log "
            "where dag_id = %s and run_id = %s group by task_id order by min(started_at)",
            (dag_id, run_id),
        ).fetchall()
        failed = conn.execute(
            "select distinct task_id from ops.run_log where dag_id = %s and run_id = %s and state = 'failed' "
            "order by task_id",
            (dag_id, run_id),
        ).fetchall()
        first_start = conn.execute(
            "select min(started_at) from ops.run_log where dag_id = %s and run_id = %s", (dag_id, run_id)
        ).fetchone()[0]
        # `airflow dags test` (and some backfills) give the run a start date at its logical date; the first task's
        # start is the wall-clock start of the night's work either way
        if first_start is not None and (started_at is None or first_start > started_at):
            started_at = first_start
        figures = night_figures(conn, run_id, business_date)
        stage_seconds = {task: round(float(s), 3) if s is not None else None for task, s in stages}
        duration = round((ended_at - started_at).total_seconds(), 3) if started_at and ended_at else None
        summary = {
            "dag_id": dag_id, "run_id": run_id, "business_date": business_date, "state": state,
            "started_at": started_at, "ended_at": ended_at, "duration_seconds": duration, **figures,
            "stage_seconds": stage_seconds, "failed_tasks": [task for (task,) in failed],
        }
        conn.execute(
            """
            insert into ops.night_summary (dag_id, run_id, business_date, state, started_at, ended_at,
                duration_seconds, rows_loaded, rows_rejected, kpis, actions_published, stage_seconds, failed_tasks)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (dag_id, run_id) do update set
                state = excluded.state, ended_at = excluded.ended_at, duration_seconds = excluded.duration_seconds,
                rows_loaded = excluded.rows_loaded, rows_rejected = excluded.rows_rejected, kpis = excluded.kpis,
                actions_published = excluded.actions_published, stage_seconds = excluded.stage_seconds,
                failed_tasks = excluded.failed_tasks, recorded_at = now()
            """,
            (
                dag_id, run_id, business_date, state, started_at, ended_at, duration,
                figures["rows_loaded"], figures["rows_rejected"], _json(figures["kpis"]),
                _json(figures["actions_published"]), _json(stage_seconds), _json(summary["failed_tasks"]),
            ),
        )
    return summary


def night_finished(conn: psycopg.Connection, dag_id: str, business_date: date) -> bool:
    """Whether a run of ``dag_id`` for the business day has finished successfully."""
    if not _table_exists(conn, "ops.night_summary"):
        return False
    row = conn.execute(
        "select 1 from ops.night_summary where dag_id = %s and business_date = %s and state = 'success' limit 1",
        (dag_id, business_date),
    ).fetchone()
    return row is not None


def check_deadline(dag_id: str, business_date: date, deadline: str) -> dict[str, Any]:
    """The "night has not finished by HH:MM" check: alert when no successful run of ``dag_id`` for the day is in
    ``ops.night_summary``. Raises ``AlertDeliveryError`` when the alert could not be delivered (the task retries)."""
    from proactive_crm.alerts import send_alert
    from proactive_crm.warehouse import connect

    with connect() as conn:
        finished = night_finished(conn, dag_id, business_date)
        last = None
        if not finished and _table_exists(conn, "ops.run_log"):
            last = conn.execute(
                "select task_id, state, hostname, ended_at from ops.run_log where dag_id = %s and business_date = %s "
                "order by coalesce(ended_at, started_at) desc nulls last limit 1",
                (dag_id, business_date),
            ).fetchone()
    if finished:
        return {"business_date": business_date.isoformat(), "finished": True, "alerted": []}
    last_task = f"{last[0]} ({last[1]} on {last[2]} at {last[3]})" if last else "no task of the night has reported"
    sent = send_alert(
        f"{dag_id}: the night of {business_date} has not finished by {deadline}",
        f"No successful run of {dag_id} for {business_date} is recorded in ops.night_summary. "
        f"Last task reported: {last_task}. Check the run in Airflow; the actions of the day are not published.",
        {"dag_id": dag_id, "business_date": business_date.isoformat(), "deadline": deadline},
    )
    return {"business_date": business_date.isoformat(), "finished": False, "alerted": sent}
