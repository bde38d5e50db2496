"""
### crm_nightly

The nightly proactive-CRM run for one business day (the store-local date on which the data interval starts).

1. **ingest**: one mapped task per landing source loads every new or changed partition up to the business day
   into `raw` (one transaction per file, rejected rows kept in `raw.<source>_rejected`, every file in
   `raw.load_audit`). A missed night is caught up by the next run; re-running a day changes nothing.
2. **build_staging**: `dbt build` of the staging layer (typed, de-duplicated views and their tests); per-model
   timings go to the task log and `ops.dbt_node_runs`.

Logic lives in `proactive_crm.nightly`; this file is schedule and wiring only.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

from proactive_crm.config import load_settings
from proactive_crm.landing.contract import SOURCES

STORE_TZ = load_settings().store_time_zone


def _run_date():
    from proactive_crm.nightly import business_date

    context = get_current_context()
    return business_date(context["data_interval_start"], load_settings())


@dag(
    dag_id="crm_nightly",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone=STORE_TZ),
    # Early enough that years of history can be backfilled (catchup is off, so this schedules nothing by itself).
    start_date=pendulum.datetime(2000, 1, 1, tz=STORE_TZ),
    catchup=False,
    max_active_runs=1,
    default_args={
        # CRM_TASK_RETRIES=0 for local `airflow dags test` runs (demo, tests), which otherwise wait out the delays.
        "retries": int(os.environ.get("CRM_TASK_RETRIES", "2")),
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
    },
    tags=["crm", "nightly"],
)
def crm_nightly():
    @task(retries=0)  # a bad file needs a fixed delivery, not a retry; other sources still load
    def ingest(source_name: str) -> dict:
        from proactive_crm.nightly import ingest

        context = get_current_context()
        return ingest(source_name, _run_date(), run_id=context["run_id"])

    @task
    def build_staging() -> dict:
        from proactive_crm.nightly import build_layer

        return build_layer("staging", _run_date())

    ingest.expand(source_name=list(SOURCES)) >> build_staging()


crm_nightly()
