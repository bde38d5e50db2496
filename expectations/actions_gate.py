"""Run gate 3 on the night's selected actions (suite: ``expectations/actions.py``) and record it like every gate.

A critical failure raises ``QualityGateError`` after the results are recorded; ``publish`` then refuses the batch,
so the previous night's published tables and files stay as they were.
"""

from __future__ import annotations

import logging
from datetime import date

import psycopg
import psycopg.rows

from expectations.outcome import GateOutcome, add_examples, docs_root, finish_gate
from expectations.results import findings_from_checkpoint
from expectations.store import ensure_quality_schema
from proactive_crm.actions.groups import bucket_sql
from proactive_crm.actions.policy import Policy
from proactive_crm.actions.rules import CONSENT_COLUMN
from proactive_crm.actions.store import ensure_actions_schema
from proactive_crm.actions.windows import decision_time
from proactive_crm.config import Settings
from proactive_crm.quality_config import QualityConfig

log = logging.getLogger(__name__)


def actions_batch(policy: Policy, run_date: date, store_time_zone: str, count_selected: int = 0):
    from expectations.actions import ActionsBatch

    return ActionsBatch(
        run_date=run_date,
        decision_at=decision_time(run_date, store_time_zone),
        max_contacts_per_7_days=policy.max_contacts_per_7_days,
        max_contacts_per_day=policy.max_contacts_per_day,
        min_expected_value=policy.min_expected_value,
        consent_by_channel={name: CONSENT_COLUMN[c.consent] for name, c in policy.channels.items()},
        address_by_channel={name: c.address for name, c in policy.channels.items()},
        window_by_channel={name: (c.window.earliest_hour, c.window.latest_hour) for name, c in policy.channels.items()},
        control_bucket_sql=bucket_sql(policy.control_salt, "batch.customer_id"),
        control_share=policy.control_share,
        holdout_bucket_sql=bucket_sql(policy.holdout_salt, "batch.action_type || ':' || batch.customer_id"),
        holdout_share=policy.holdout_share,
        count_selected=count_selected,
    )


def run_actions_gate(
    conn: psycopg.Connection,
    run_date: date,
    settings: Settings,
    policy: Policy,
    run_id: str | None = None,
) -> GateOutcome:
    """Validate the selected actions of ``run_date``; the GE datasource reads ``CRM_WAREHOUSE_URL`` (the caller
    points it at the database ``conn`` uses)."""
    from expectations.actions import GATE, TARGET, configure_actions_gate
    from expectations.gates import new_context, write_docs_index

    config = QualityConfig.from_settings(settings)
    ensure_quality_schema(conn)
    ensure_actions_schema(conn)
    selected = conn.execute(
        "select count(*) from actions.decisions where run_date = %s and outcome = 'selected'", (run_date,)
    ).fetchone()[0]
    batch = actions_batch(policy, run_date, settings.store_time_zone, selected)
    root = docs_root(settings)
    context = new_context(root, GATE, "selected_actions")
    checkpoint = configure_actions_gate(context, batch, config)
    findings = findings_from_checkpoint(GATE, checkpoint.run())
    add_examples(conn, findings, batch_query=batch.query)
    outcome = GateOutcome(GATE, run_date, [TARGET], findings, write_docs_index(root))
    return finish_gate(conn, outcome, "nothing is published: the previous actions stay as they were", run_id)
