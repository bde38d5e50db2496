"""
### crm_erase

Erases customers on request (GDPR art. 17, CCPA): trigger it with the ids in the run configuration,
`{"customer_ids": ["C0000042", "C0000043"]}` (UI "Trigger DAG w/ config", or
`airflow dags trigger crm_erase --conf '{"customer_ids": [...]}'`).

The ids go (hashed) on the erasure list; their rows are deleted from every raw, rejected, staging, snapshot, mart,
feature, score, decision and outbound table and from the outbox files; the nightly loader drops them from every
later delivery (`rows_erased` in `raw.load_audit`). The task log shows counts only, never the ids. The task calls
`proactive_crm.tasks.erase`, the logic is `proactive_crm.privacy.erasure`; this file is wiring only.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, get_current_context, task


@dag(
    dag_id="crm_erase",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params={"customer_ids": Param([], type="array", items={"type": "string"}, minItems=1,
                                  description="Customer ids to erase")},
    default_args={
        "retries": int(os.environ.get("CRM_TASK_RETRIES", "2")),
        "retry_delay": timedelta(minutes=2),
    },
    tags=["crm", "privacy"],
)
def crm_erase():
    @task
    def erase() -> dict:
        from proactive_crm.tasks.erase import erase

        return erase(list(get_current_context()["params"]["customer_ids"]))

    erase()


crm_erase()
