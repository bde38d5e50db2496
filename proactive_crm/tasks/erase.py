"""What the ``crm_erase`` DAG's task does (and ``python -m proactive_crm erase``), callable without Airflow."""

from __future__ import annotations

from proactive_crm.actions.policy import load_policy, outbox_dir
from proactive_crm.config import load_settings
from proactive_crm.warehouse import connect, warehouse_url


def erase(customer_ids: list[str]) -> dict[str, object]:
    """Erase customers from the warehouse and the outbox files; the result (and so the log) holds counts, never
    the ids."""
    from proactive_crm.privacy.erasure import erase_customers

    settings = load_settings()
    with connect(warehouse_url(settings), autocommit=True) as conn:
        report = erase_customers(conn, customer_ids, outbox_dir(settings, load_policy(settings)))
    return {"customers": report.customers, "newly_listed": report.newly_listed, "rows_deleted": report.total,
            "quality_results_scrubbed": report.scrubbed_results}
