"""
### crm_nightly

The nightly proactive-CRM run for one business day (the store-local date on which the data interval starts).

0. **ensure_roles**: the database roles `crm_pipeline`, `crm_bi`, `crm_outbound` and their grants (idempotent;
   README "Privacy").
1. **ingest**: one mapped task per landing source loads every new or changed partition up to the business day
   into `raw` (one transaction per file, rejected rows kept in `raw.<source>_rejected`, every file in
   `raw.load_audit`). A missed night is caught up by the next run; re-running a day changes nothing.
   Each task first runs the **landing quality gate** on those partitions (Great Expectations, suites in
   `expectations/landing.py`): a critical failure fails the task before anything of that source loads.
2. **build_staging**: `dbt build` of the staging layer (typed, de-duplicated views and their tests); per-model
   timings go to the task log and `ops.dbt_node_runs`.
3. **build_warehouse**: `dbt build` of everything after staging for the business day: intermediate models
   (sessionisation, identity stitching, purchase rhythm, customer standings), the `core`, `kpi` and `ml` marts
   and the snapshots, with their data tests. The large models (web events and sessions, KPI periods, customer
   standings, ML features) are incremental: the new day plus a look-back for late data, more after missed nights.
   The marts count data up to and including the business day.
4. **warehouse_gate**: the warehouse quality gate on the marts, computed in PostgreSQL (`expectations/warehouse.py`).
   A critical failure fails the task without retries, so nothing downstream (scores, published actions) runs.
5. **score_customers**: the champion models of `ml/` score every customer with an order in the scoring window as
   of the business day + 1 into `ml.customer_scores` and `ml.customer_category_scores` (the rules while a model is
   in cold start; a model whose features no longer match the warehouse is refused without retries).
6. **decide_actions** -> **actions_gate** -> **publish_actions**: candidate actions per action type (SQL in the
   warehouse), priority (expected value, learned from the responses) and the contact policy
   (`config/contact_policy.yml`) into `actions.decisions`; gate 3 on the selected actions
   (`expectations/actions.py`, fails without retries); then the e-mail, SMS and call-centre tables and outbox files
   are published in one transaction (`proactive_crm/actions/CONTRACT.md`). A failed gate publishes nothing.
7. **apply_retention**: raw web events, rejected rows, decisions and outbox folders older than their retention
   (`retention:` in the pipeline configuration) are deleted; counts in `ops.retention_runs`.

Every gate records each expectation in `quality.validation_results`; severities are set in the `quality:`
section of the pipeline configuration.

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
    @task
    def ensure_roles() -> dict:
        from proactive_crm.privacy.commands import ensure_roles_task

        return ensure_roles_task()

    @task(retries=0)  # a bad file needs a fixed delivery, not a retry; other sources still load
    def ingest(source_name: str) -> dict:
        from proactive_crm.nightly import ingest

        context = get_current_context()
        return ingest(source_name, _run_date(), run_id=context["run_id"])

    @task
    def build_staging() -> dict:
        from proactive_crm.nightly import build_layer

        return build_layer("staging", _run_date())

    @task
    def build_warehouse() -> dict:
        from proactive_crm.nightly import build_warehouse

        return build_warehouse(_run_date())

    @task
    def warehouse_gate() -> dict:
        from proactive_crm.airflow_tasks import fail_without_retry
        from proactive_crm.nightly import warehouse_gate
        from proactive_crm.quality import QualityGateError

        with fail_without_retry(QualityGateError):  # bad data; the message says what to check
            return warehouse_gate(_run_date(), run_id=get_current_context()["run_id"])

    @task
    def score_customers() -> list:
        from ml.features import FeatureMismatch
        from ml.score import score_nightly
        from proactive_crm.airflow_tasks import fail_without_retry

        with fail_without_retry(FeatureMismatch):  # the model needs retraining or the mart its columns back
            return score_nightly(_run_date())

    @task
    def decide_actions() -> dict:
        from proactive_crm.actions.tasks import decide_actions

        return decide_actions(_run_date())

    @task
    def actions_gate() -> dict:
        from proactive_crm.actions.tasks import actions_gate
        from proactive_crm.airflow_tasks import fail_without_retry
        from proactive_crm.quality import QualityGateError

        with fail_without_retry(QualityGateError):  # a wrong batch needs a fix; nothing gets published
            return actions_gate(_run_date(), run_id=get_current_context()["run_id"])

    @task
    def publish_actions() -> dict:
        from proactive_crm.actions.tasks import publish_actions

        return publish_actions(_run_date())

    @task
    def apply_retention() -> dict:
        from proactive_crm.privacy.commands import retention_task

        return retention_task(_run_date())

    (
        ensure_roles()
        >> ingest.expand(source_name=list(SOURCES))
        >> build_staging()
        >> build_warehouse()
        >> warehouse_gate()
        >> score_customers()
        >> decide_actions()
        >> actions_gate()
        >> publish_actions()
        >> apply_retention()
    )


crm_nightly()
