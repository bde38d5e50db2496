"""Gate 3, actions: the night's selected actions, validated in PostgreSQL before anything is published.

The batch is a query asset over ``actions.decisions`` (run date, outcome selected); the checks that need other
tables or the contact policy are ``UnexpectedRowsExpectation`` queries returning only the offending rows:

- ``consent``: every action's customer has, in the latest customer record, the consent its channel needs;
- ``valid_address``: e-mail actions carry a syntactically valid address, SMS and call-centre actions an E.164 phone;
- ``contact_cap``: no customer over max_contacts_per_7_days (run date and the six days before) or
  max_contacts_per_day, counting every would-be contact as the decision step does;
- ``unique_action_ids``: no action id twice in the batch, nor published before for another run date;
- ``priority_range``: priority ranks run 1..n per channel without gaps or ties, scores above min_expected_value;
- ``send_window``: send_after after the decision time, inside the channel's allowed local hours, before expires_at;
- ``control_group`` / ``holdout``: no customer of the global control group, nor of the action type's holdout;
- ``has_actions``: the batch is not empty (a warning by default: a night without consented customers is legal).

Severities come from ``quality.actions`` in the pipeline configuration (defaults in
``proactive_crm/quality_config.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.data_context import AbstractDataContext

from expectations.gates import configure_checkpoint, configure_suite, configure_validation, with_severity
from proactive_crm.quality_config import QualityConfig

GATE = "actions"
TARGET = "actions.decisions"
WAREHOUSE_URL = "${CRM_WAREHOUSE_URL}"
# The same rules as proactive_crm.actions.rules, written without braces: GE reads {...} in a query as a placeholder.
ADDRESS_OK = {
    "email": r"batch.contact_address ~ '^[^@\s,;]+@[^@\s,;]+\.[A-Za-z][A-Za-z]+$'",
    "phone": r"(batch.contact_address ~ '^\+[1-9][0-9]+$' and length(batch.contact_address) between 8 and 16)",
}
# GE substitutes {batch} with "(<query>) AS subselect"; wrapping it gives the rows a name of our own.
BATCH = "(select * from {batch}) as batch"


@dataclass(frozen=True)
class ActionsBatch:
    """What the suite needs to know about the night and the policy, as plain values."""

    run_date: date
    decision_at: datetime  # UTC
    max_contacts_per_7_days: int
    max_contacts_per_day: int
    min_expected_value: float
    consent_by_channel: dict[str, str]  # channel -> dim_customers consent column
    address_by_channel: dict[str, str]  # channel -> email | phone
    window_by_channel: dict[str, tuple[int, int]]  # channel -> (earliest_hour, latest_hour)
    control_bucket_sql: str  # SQL expression of the control bucket of batch.customer_id
    control_share: float
    holdout_bucket_sql: str
    holdout_share: float
    count_selected: int = 0  # column checks are left out of an empty batch (GE reports no unexpected count)

    @property
    def query(self) -> str:
        return (
            "select * from actions.decisions "
            f"where run_date = date '{self.run_date.isoformat()}' and outcome = 'selected'"
        )


def _case(mapping: dict[str, str], default: str = "null") -> str:
    whens = " ".join(f"when '{k}' then {v}" for k, v in mapping.items())
    return f"case batch.channel {whens} else {default} end"


def _queries(batch: ActionsBatch) -> dict[str, str]:
    run = f"date '{batch.run_date.isoformat()}'"
    consent = _case({ch: f"c.{col}" for ch, col in batch.consent_by_channel.items()}, "false")
    address_ok = _case({ch: ADDRESS_OK[kind] for ch, kind in batch.address_by_channel.items()}, "false")
    earliest = _case({ch: str(w[0]) for ch, w in batch.window_by_channel.items()}, "0")
    latest = _case({ch: str(w[1]) for ch, w in batch.window_by_channel.items()}, "24")
    return {
        "consent": (
            "select batch.action_id, batch.customer_id, batch.channel from " + BATCH + " "
            "left join core.dim_customers as c on c.customer_id = batch.customer_id "
            f"where c.customer_id is null or not coalesce({consent}, false)"
        ),
        "valid_address": (
            "select batch.action_id, batch.channel, batch.contact_address from " + BATCH + " "
            f"where batch.contact_address is null or not coalesce({address_ok}, false)"
        ),
        "contact_cap": (
            "select d.customer_id, count(*) as contacts_7d, count(*) filter (where d.run_date = "
            f"{run}) as contacts_today from actions.decisions as d "
            "where d.outcome <> 'suppressed' "
            f"and d.run_date > {run} - 7 and d.run_date <= {run} "
            "and d.customer_id in (select customer_id from {batch}) group by d.customer_id "
            f"having count(*) > {batch.max_contacts_per_7_days} "
            f"or count(*) filter (where d.run_date = {run}) > {batch.max_contacts_per_day}"
        ),
        "unique_action_ids": (
            "select action_id, count(*) as copies from {batch} group by action_id having count(*) > 1 "
            "union all select p.action_id, 1 from ("
            "select action_id, run_date from actions.outbound_email union all "
            "select action_id, run_date from actions.outbound_sms union all "
            "select action_id, run_date from actions.call_center_tasks) as p "
            f"where p.run_date <> {run} and p.action_id in (select action_id from {{batch}})"
        ),
        "priority_range": (
            "select channel, count(*) as actions, min(priority_rank) as first_rank, max(priority_rank) as last_rank, "
            "count(distinct priority_rank) as distinct_ranks from {batch} group by channel "
            "having min(priority_rank) <> 1 or max(priority_rank) <> count(*) "
            "or count(distinct priority_rank) <> count(*) or count(priority_rank) <> count(*)"
        ),
        "send_window": (
            "select batch.action_id, batch.channel, batch.send_after, batch.expires_at, batch.time_zone "
            "from " + BATCH + " "
            f"where batch.send_after is null or batch.send_after <= timestamptz '{batch.decision_at.isoformat()}' "
            "or batch.expires_at is null or batch.expires_at <= batch.send_after "
            f"or extract(hour from batch.send_after at time zone batch.time_zone) < {earliest} "
            f"or extract(hour from batch.send_after at time zone batch.time_zone) >= {latest}"
        ),
        "control_group": (
            "select batch.action_id, batch.customer_id from " + BATCH + " "
            f"where {batch.control_bucket_sql} < {batch.control_share}"
        ),
        "holdout": (
            "select batch.action_id, batch.customer_id, batch.action_type from " + BATCH + " "
            f"where {batch.holdout_bucket_sql} < {batch.holdout_share}"
        ),
    }


HINTS = {
    "consent": "an action went to a channel its customer has not consented to in core.dim_customers: check the "
    "channel consent mapping in the contact policy and proactive_crm/actions/rules.py channel_blockers",
    "valid_address": "the contact address is not a valid e-mail / E.164 phone: check rules.valid_address",
    "contact_cap": "a customer exceeds the frequency cap of the contact policy: check rules.frequency_cap and "
    "rules.one_per_day, and whether actions.decisions of earlier nights were changed",
    "unique_action_ids": "action ids must be unique in a batch and never reused by another night: check "
    "decide.action_ids",
    "priority_range": "priority ranks must run 1..n per channel: check the ranking in decide.evaluate",
    "send_window": "send_after must lie after the decision and inside the allowed local hours, expires_at after "
    "it: check proactive_crm/actions/windows.py and the send_window of the contact policy",
    "control_group": "a customer of the global control group was selected: check groups.in_control_group and "
    "the control_group salt/share of the contact policy",
    "holdout": "a customer of the action type's holdout was selected: check groups.in_holdout",
}


def batch_expectations(batch: ActionsBatch, config: QualityConfig) -> list[gxe.Expectation]:
    expectations: list[gxe.Expectation] = []
    for check, query in _queries(batch).items():
        expectations += with_severity(
            gxe.UnexpectedRowsExpectation, config.check(GATE, check, TARGET),
            {"target": TARGET, "column": None, "hint": HINTS[check], "run_date": batch.run_date.isoformat()},
            unexpected_rows_query=query,
            description=f"actions {check.replace('_', ' ')}",
        )
    if batch.count_selected == 0:
        return expectations + _row_count(config)
    expectations += with_severity(
        gxe.ExpectColumnValuesToBeUnique, config.check(GATE, "unique_action_ids", TARGET),
        {"target": TARGET, "column": "action_id", "hint": HINTS["unique_action_ids"]},
        column="action_id",
    )
    expectations += with_severity(
        gxe.ExpectColumnValuesToBeBetween, config.check(GATE, "priority_range", TARGET),
        {"target": TARGET, "column": "expected_value", "hint": "a selected action must be worth more than "
         "min_expected_value of the contact policy: check priority.expected_value"},
        column="expected_value", min_value=batch.min_expected_value, strict_min=True,
    )
    return expectations + _row_count(config)


def _row_count(config: QualityConfig) -> list[gxe.Expectation]:
    return with_severity(
        gxe.ExpectTableRowCountToBeBetween, config.check(GATE, "has_actions", TARGET),
        {"target": TARGET, "column": None, "hint": "no action was selected tonight: see the suppression counts in "
         "the decide_actions log (no consent, no candidates, capacity)"},
        min_value=1,
    )


def configure_actions_gate(
    context: AbstractDataContext, batch: ActionsBatch, config: QualityConfig
) -> gx.Checkpoint:
    """The postgres datasource, the night's selected actions as a query asset, its suite and checkpoint."""
    datasource = context.data_sources.add_or_update_postgres(GATE, connection_string=WAREHOUSE_URL)
    asset = datasource.add_query_asset("selected_actions", query=batch.query)
    definition = asset.add_batch_definition_whole_table("whole batch")
    suite = configure_suite(context, f"{GATE}.{TARGET}", batch_expectations(batch, config))
    validation = configure_validation(context, suite.name, definition, suite)
    return configure_checkpoint(context, GATE, [validation])
