"""The three tasks of the actions step of ``crm_nightly``, callable and testable without Airflow.

``decide_actions`` -> ``actions_gate`` -> ``publish_actions``: decisions for the business day, gate 3 on the selected
ones, then the atomic publish of the contract tables and outbox files. Each replaces its own output for the run date,
so a re-run of a night gives the same result.
"""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path

from proactive_crm.actions.policy import Policy, load_policy
from proactive_crm.config import Settings, load_settings
from proactive_crm.warehouse import connect, warehouse_url

log = logging.getLogger(__name__)


def outbox_dir(settings: Settings, policy: Policy) -> Path:
    """``CRM_OUTBOX_DIR``, else the policy's ``outbox.dir`` (relative to ``CRM_STATE_DIR``)."""
    configured = Path(os.environ.get("CRM_OUTBOX_DIR") or policy.outbox_dir).expanduser()
    return configured if configured.is_absolute() else settings.state_dir / configured


def decide_actions(run_date: date) -> dict[str, object]:
    from proactive_crm.actions.decide import decide

    settings = load_settings()
    policy = load_policy(settings)
    with connect(warehouse_url(settings)) as conn:
        summary = decide(conn, run_date, policy, settings.store_time_zone, settings.currency, settings.state_dir,
                         settings)
    return {"candidates": summary.count_candidates, **summary.outcomes, "suppressed_by": summary.suppressed,
            "selected_by_channel": summary.selected_by_channel, "notes": summary.notes,
            "seconds": round(summary.seconds, 1)}


def actions_gate(run_date: date, run_id: str | None = None) -> dict[str, object]:
    """Gate 3; raises ``QualityGateError`` on a critical failure, so nothing is published."""
    from proactive_crm.actions.gate import run_actions_gate

    settings = load_settings()
    url = warehouse_url(settings)  # also exports CRM_WAREHOUSE_URL, which the GE datasource reads
    with connect(url) as conn:
        outcome = run_actions_gate(conn, run_date, settings, load_policy(settings), run_id)
    return {"expectations": outcome.evaluated, "failed_warning": len(outcome.failed_warning),
            "data_docs": str(outcome.docs)}


def publish_actions(run_date: date) -> dict[str, object]:
    from proactive_crm.actions.publish import publish
    from proactive_crm.actions.report import format_top_actions

    settings = load_settings()
    policy = load_policy(settings)
    with connect(warehouse_url(settings)) as conn:
        result = publish(conn, run_date, outbox_dir(settings, policy))
        report = format_top_actions(conn, run_date)
    log.info("top actions:\n%s", report)
    return {"published": result.counts, "outbox": str(result.outbox)}
