"""
### crm_night_deadline

The "night has not finished by HH:MM" check. Airflow 3 has no SLA misses any more; this DAG runs each day at
`CRM_NIGHT_DEADLINE` (store time, default 07:00) and looks in `ops.night_summary` for a successful `crm_nightly`
run of the business day that night processed. When there is none (the run failed, is stuck, or never started) it
sends an alert to the configured webhook and/or e-mail (`proactive_crm/alerts.py`).

Logic lives in `proactive_crm.runlog.check_deadline`; this file is schedule and wiring only.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

from proactive_crm.config import load_settings
from proactive_crm.deployment import night_deadline, task_defaults

STORE_TZ = load_settings().store_time_zone
HOUR, MINUTE = night_deadline()


@dag(
    dag_id="crm_night_deadline",
    doc_md=__doc__,
    # The run at HH:MM on day D+1 has an interval starting at HH:MM on day D: the business day crm_nightly processed
    # at 02:00 on D+1.
    schedule=CronDataIntervalTimetable(f"{MINUTE} {HOUR} * * *", timezone=STORE_TZ),
    start_date=pendulum.datetime(2000, 1, 1, tz=STORE_TZ),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(default_retries=2),  # a retry re-sends an alert that could not be delivered
    tags=["crm", "nightly", "alerts"],
)
def crm_night_deadline():
    @task
    def check_night_finished() -> dict:
        from proactive_crm.runlog import check_deadline
        from proactive_crm.tasks.nightly import business_date

        day = business_date(get_current_context()["data_interval_start"], load_settings())
        return check_deadline("crm_nightly", day, f"{HOUR:02d}:{MINUTE:02d}")

    check_night_finished()


crm_night_deadline()
