"""
### crm_train

Weekly training, evaluation and promotion of the customer models in `ml/` (churn_risk, next_purchase,
next_purchase_category, value_90d), on the warehouse as the nightly run left it: data complete through the day
before the run.

1. **train_and_evaluate** (one mapped task per model, one at a time on a small machine): time-split training sets
   from `ml.ml_customer_features` and the core marts, an XGBoost model with and without BG/NBD features, the
   held-out report next to the recency, RFM, BG/NBD and rules baselines, and a new version in `models/<model>/`.
   With too little history the model is not trained (cold start) and the task says why; scoring keeps the rules.
   A training that raises is recorded as failed in `models/<model>/last_training.json` before the task fails.
2. **promote** (in the same mapped group, so a model that fails to train holds back only its own promotion):
   the new version becomes champion only if it beats the current champion on the same evaluation
   rows by the configured margin (`ml.promotion` in the pipeline configuration). The nightly scoring picks up the
   champion on its next run; `python -m ml rollback --model <model>` points it back.

Logic lives in `ml.pipeline` and `ml.promotion`; this file is schedule and wiring only.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import dag, get_current_context, task, task_group
from airflow.timetables.interval import CronDataIntervalTimetable

from proactive_crm.callbacks import TASK_CALLBACKS
from proactive_crm.config import load_settings
from proactive_crm.deployment import heavy_queue

SETTINGS = load_settings()
STORE_TZ = SETTINGS.store_time_zone
HISTORY_START = SETTINGS.history_start_date  # history_start_date in the pipeline configuration
MODELS = ["churn_risk", "next_purchase", "next_purchase_category", "value_90d"]  # ml.config.MODEL_NAMES


def _run_date():
    """The last complete business day: the day before the run (the interval's end, in the store's zone)."""
    from proactive_crm.nightly import business_date

    context = get_current_context()
    return business_date(context["data_interval_end"], load_settings()) - timedelta(days=1)


@dag(
    dag_id="crm_train",
    doc_md=__doc__,
    schedule=CronDataIntervalTimetable("0 4 * * 0", timezone=STORE_TZ),  # Sundays, after the nightly run
    # As crm_nightly: early enough to train on any history (a historical extract, a backfill); catchup is off.
    start_date=pendulum.datetime(HISTORY_START.year, HISTORY_START.month, HISTORY_START.day, tz=STORE_TZ),
    catchup=False,
    max_active_runs=1,
    default_args={
        "retries": int(os.environ.get("CRM_TASK_RETRIES", "1")),
        "retry_delay": timedelta(minutes=10),
        **TASK_CALLBACKS,  # ops.run_log and the failure alert
    },
    tags=["crm", "ml", "weekly"],
)
def crm_train():
    # One mapped group per model: a model that fails to train blocks only its own promotion, not the others'.
    @task_group(group_id="model")
    def train_then_promote(model: str) -> None:
        @task(max_active_tis_per_dagrun=1, queue=heavy_queue())  # two cores: one model at a time
        def train_and_evaluate(model: str) -> dict:
            from ml.pipeline import train_model

            return train_model(model, _run_date())

        @task
        def promote(result: dict) -> dict:
            from ml.promotion import promote_result

            return promote_result(result)

        promote(train_and_evaluate(model))

    train_then_promote.expand(model=MODELS)


crm_train()
