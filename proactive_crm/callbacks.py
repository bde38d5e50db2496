"""Airflow callbacks of the CRM DAGs: the run log, the night's summary and the failure alert.

Task callbacks run in the task's own process on the worker after the task ends; DAG callbacks run in the
dag-processor (``airflow dags test`` runs both in-process). A callback never fails the task: what it cannot write
it logs (Airflow also catches and logs callback errors).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import date
from typing import Any

log = logging.getLogger(__name__)


def _business_date(dag_run: Any) -> date | None:
    from proactive_crm.config import load_settings
    from proactive_crm.tasks.nightly import business_date

    start = getattr(dag_run, "data_interval_start", None)
    return business_date(start, load_settings()) if start is not None else None


def _record(context: Mapping[str, Any], state: str) -> None:
    from proactive_crm.runlog import TaskRecord, record_task
    from proactive_crm.warehouse import connect

    ti = context["ti"]
    result = None
    if state == "success":
        result = ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index)
    exception = context.get("exception")
    record = TaskRecord(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        map_index=ti.map_index if ti.map_index is not None else -1,
        try_number=ti.try_number,
        state=state,
        business_date=_business_date(context.get("dag_run")),
        hostname=getattr(ti, "hostname", None),
        queue=getattr(ti, "queue", None),
        pool=getattr(getattr(ti, "task", None), "pool", None),
        started_at=getattr(ti, "start_date", None),
        ended_at=getattr(ti, "end_date", None),
        result=result if isinstance(result, Mapping) else ({"value": result} if result is not None else None),
        error=f"{type(exception).__name__}: {exception}" if exception else None,
    )
    with connect() as conn:
        record_task(conn, record)


def _safely(what: str, func, *args: Any) -> None:
    try:
        func(*args)
    except Exception:  # a broken run log or alert channel must not turn a good task into a failed one
        log.exception("%s failed", what)


def task_succeeded(context: Mapping[str, Any]) -> None:
    _safely("run log (success)", _record, context, "success")


def task_retrying(context: Mapping[str, Any]) -> None:
    _safely("run log (up_for_retry)", _record, context, "up_for_retry")


def task_failed(context: Mapping[str, Any]) -> None:
    """Record the failed try and alert: the task will not be retried (its tries are used up or it failed fast)."""
    _safely("run log (failed)", _record, context, "failed")
    _safely("failure alert", _alert_task_failure, context)


def _alert_task_failure(context: Mapping[str, Any]) -> None:
    from proactive_crm.alerts import send_alert

    ti = context["ti"]
    exception = context.get("exception")
    day = _business_date(context.get("dag_run"))
    send_alert(
        f"{ti.dag_id}: task {ti.task_id} failed",
        str(exception or "the task failed (see its log)")[:1500],
        {
            "dag_id": ti.dag_id,
            "run_id": ti.run_id,
            "task_id": ti.task_id,
            "map_index": ti.map_index,
            "try_number": ti.try_number,
            "business_date": day.isoformat() if day else None,
            "hostname": getattr(ti, "hostname", None),
            "log_url": getattr(ti, "log_url", None),
            "environment": os.environ.get("CRM_ENVIRONMENT"),
        },
    )


def _summarise(context: Mapping[str, Any], state: str) -> None:
    from proactive_crm.runlog import record_night
    from proactive_crm.warehouse import connect

    dag_run = context["dag_run"]
    with connect() as conn:
        summary = record_night(
            conn,
            dag_run.dag_id,
            dag_run.run_id,
            state,
            _business_date(dag_run),
            getattr(dag_run, "start_date", None),
            getattr(dag_run, "end_date", None),
        )
    # One readable line for the task log (and the demo, which shows it); the whole record, KPIs and stage seconds
    # included, is the ops.run_log row that record_night just wrote, where BI tools and alerts read it.
    published = summary.get("actions_published") or {}
    log.info(
        "night summary (ops.run_log): %s %s for %s in %.0f s; rows loaded %s, rejected %s; actions published %s%s",
        summary["dag_id"],
        state,
        summary["business_date"],
        summary.get("duration_seconds") or 0,
        f"{summary.get('rows_loaded') or 0:,}",
        f"{summary.get('rows_rejected') or 0:,}",
        ", ".join(f"{channel} {count:,}" for channel, count in published.items()) or "none",
        f"; failed tasks: {', '.join(summary['failed_tasks'])}" if summary.get("failed_tasks") else "",
    )


def night_succeeded(context: Mapping[str, Any]) -> None:
    _safely("night summary (success)", _summarise, context, "success")


def night_failed(context: Mapping[str, Any]) -> None:
    _safely("night summary (failed)", _summarise, context, "failed")


# What the CRM DAGs put in default_args (per task) and on the DAG itself.
TASK_CALLBACKS = {
    "on_success_callback": task_succeeded,
    "on_retry_callback": task_retrying,
    "on_failure_callback": task_failed,
}
DAG_CALLBACKS = {"on_success_callback": night_succeeded, "on_failure_callback": night_failed}
