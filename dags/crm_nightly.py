"""
### crm_nightly

The nightly proactive-CRM run for one business day (the store-local date on which the data interval starts).

0. **ensure_roles**: the database roles `crm_pipeline`, `crm_bi`, `crm_outbound` and their grants (idempotent;
   README "Privacy").
1. **ingest**: one mapped task per landing source loads every new or changed partition up to the business day
   into `raw` (one transaction per file, rejected rows kept in `raw.<source>_rejected`, every file in
   `raw.load_audit`). A missed night is caught up by the next run; re-running a day changes nothing.
   Each task first runs the **landing quality gate** on those partitions (Great Expectations, suites in
   `expectations/landing.py`): a critical finding refuses the files it points at. One file, one fate: a refused or
   unreadable file is recorded as failed, the source's other files load, and the task then fails naming each file.
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
8. **dbt_docs** -> **nightly_report**: dbt docs (lineage from the landing sources to the outbound tables, with the
   exposures) into `CRM_STATE_DIR/dbt_docs/`, then the night's self-contained HTML report
   (`CRM_STATE_DIR/reports/crm_nightly_<day>.html`, `proactive_crm/nightly_report/`).

Every gate records each expectation in `quality.validation_results`; severities are set in the `quality:`
section of the pipeline configuration.

Every task try writes a row to `ops.run_log` and every run a summary to `ops.night_summary`; a task that fails for
good alerts the configured webhook / e-mail (`proactive_crm/callbacks.py`). Ingestion and the dbt builds share the
pool `CRM_WAREHOUSE_POOL`; scoring runs on the queue `CRM_HEAVY_QUEUE` (README "Configuration").

Logic lives in `proactive_crm.tasks.nightly` (`run_task`: the business day, the step, which errors fail without a
retry); this file is schedule and wiring only.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

from proactive_crm.callbacks import DAG_CALLBACKS
from proactive_crm.config import load_settings
from proactive_crm.deployment import heavy_queue, task_defaults, warehouse_pool
from proactive_crm.landing.contract import SOURCES

SETTINGS = load_settings()
STORE_TZ = SETTINGS.store_time_zone
HISTORY_START = SETTINGS.history_start_date  # history_start_date in the pipeline configuration


def _run(task_id: str, **arguments: str):
    from proactive_crm.tasks.nightly import run_task

    return run_task(task_id, get_current_context(), **arguments)


@dag(
    dag_id="crm_nightly",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 2 * * *", timezone=STORE_TZ),
    # Early enough that years of history can be backfilled (catchup is off, so this schedules nothing by itself).
    start_date=pendulum.datetime(HISTORY_START.year, HISTORY_START.month, HISTORY_START.day, tz=STORE_TZ),
    catchup=False,
    max_active_runs=1,
    # Retries, the run log (ops.run_log) and the failure alert: proactive_crm/deployment.py and callbacks.py.
    default_args=task_defaults(default_retries=2),
    **DAG_CALLBACKS,  # the night's summary row in ops.night_summary
    tags=["crm", "nightly"],
)
def crm_nightly():  # noqa: C901 - one nested function per task (12 tasks), no branching of its own
    @task
    def ensure_roles() -> dict:
        return _run("ensure_roles")

    @task(pool=warehouse_pool())  # dbt builds and bulk loads share the warehouse's pool
    def ingest(source_name: str) -> dict:
        return _run("ingest", source_name=source_name)

    @task(pool=warehouse_pool())
    def build_staging() -> dict:
        return _run("build_staging")

    @task(pool=warehouse_pool())
    def build_warehouse() -> dict:
        return _run("build_warehouse")

    @task
    def warehouse_gate() -> dict:
        return _run("warehouse_gate")

    @task(queue=heavy_queue())  # workers with the memory for the models
    def score_customers() -> list:
        return _run("score_customers")

    @task
    def decide_actions() -> dict:
        return _run("decide_actions")

    @task
    def actions_gate() -> dict:
        return _run("actions_gate")

    @task
    def publish_actions() -> dict:
        return _run("publish_actions")

    @task
    def apply_retention() -> dict:
        return _run("apply_retention")

    @task
    def dbt_docs() -> str:
        return _run("dbt_docs")

    @task
    def nightly_report() -> str:
        return _run("nightly_report")

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
        >> dbt_docs()
        >> nightly_report()
    )


crm_nightly()
