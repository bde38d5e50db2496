"""Candidate actions per action type, computed in SQL inside the warehouse (only candidates leave the database).

Every trigger reads the marts of the business day ``run_date`` (data up to its end) and proposes at most one
candidate per customer, for the send day ``as_of = run_date + 1``. Its parameters come from the contact policy
(``action_types.<type>.trigger``). All triggers write into the temporary table ``actions_candidates``:

- service_recovery: an open complaint, a review rated <= max_rating, or a cancelled/returned order within
  lookback_days, with no later sign of recovery (no completed order and no positive review after it); the most
  serious event per customer (complaint, review, order). Value: the customer's 90-day value.
- replenishment_reminder: the latest purchase of a consumable category is due again (the ML category score's
  expected days to the next purchase, else the intermediate purchase rhythm, which blends the product's use cycle
  with the customer's own intervals) between as_of - overdue_days and as_of + lead_days, and nothing of the
  category was bought since. Product: the last consumable of the category the customer bought. Value: its price x
  quantity.
- maintenance_reminder: a durable product bought within max_age_days whose next service date (purchase date + k x
  service_interval_days) falls within lead_days of as_of. Value: the product price.
- cart_recovery: a session with an abandoned cart that started between max_age_hours and min_age_hours before the
  decision (02:00 store time on as_of) and no order or converted session of the customer since. Products: the
  items added in that session. Value: their prices.
- churn_prevention: churn risk >= min_churn_risk and the customer's 90-day value while active (revenue rate) >=
  min_value_90d, lifecycle active or at risk. Value: churn risk x that value (the value at risk).
- win_back: lifecycle lapsed, last order at most max_days_since_last_order ago, lifetime revenue >=
  min_past_revenue. Value: lifetime revenue.
- cross_sell: the product viewed most in the last browse_days and not bought since; else the product most often
  bought in the same order as one of the customer's purchases of the last recent_order_days (co-purchase
  confidence >= min_confidence over >= min_pair_orders orders of the last year, the max_suggestions_per_product
  most frequent partners of each product), never bought by the customer.
  Value: the product price.
- vip_recognition: a Pareto customer's Nth completed order (N in milestones) within lookback_days. Value: 90-day
  value.
- special_date: birthday (29 February on the 28th in other years) or anniversary of the first order on as_of.
  Value: average order value.
- feedback_request: a completed order placed days_after days before as_of without a review. Value: fixed.

The customer's 90-day value and churn risk come from ``ml.customer_scores`` (as of the latest date up to as_of)
when it exists, else from rules on ``core.dim_customers`` (``customer_values``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import psycopg

from proactive_crm.actions.policy import Policy
from proactive_crm.actions.windows import decision_time
from proactive_crm.config import Settings
from proactive_crm.actions.trigger_sql import (
    CART_RECOVERY,
    CHURN_PREVENTION,
    CROSS_SELL,
    CROSS_SELL_BROWSING,
    FEEDBACK_REQUEST,
    MAINTENANCE,
    REPLENISHMENT_ML_UNION,
    REPLENISHMENT_RULES,
    SERVICE_RECOVERY,
    SPECIAL_DATE,
    VIP_RECOGNITION,
    WIN_BACK,
)

log = logging.getLogger(__name__)

CANDIDATES = "actions_candidates"
# The dbt models of the triggers (dbt_project/models/actions/triggers): one view per action type, and the customer
# values they share.
TRIGGER_SCHEMA = "action_triggers"
VALUES_MODEL = "trigger_customer_values"


def trigger_model(action_type: str) -> str:
    return f"trigger_{action_type}"


def trigger_vars(policy: Policy, run_date: date, store_time_zone: str) -> dict[str, Any]:
    """The dbt vars of the trigger models: the policy's trigger settings per action type and the decision instant."""
    return {
        "action_triggers": {name: dict(action.trigger) for name, action in policy.action_types.items()},
        "decision_at": decision_time(run_date, store_time_zone).isoformat(),
    }


def build_trigger_models(
    url: str, settings: Settings, policy: Policy, run_date: date, action_types: list[str] | None = None
) -> None:
    """``dbt run`` of the customer values and the trigger views of ``action_types`` (default: the policy's)."""
    from proactive_crm.dbt_runner import DbtError, run_dbt

    names = [VALUES_MODEL] + [trigger_model(t) for t in (policy.action_types if action_types is None else action_types)]
    code, _, results = run_dbt(["run", "--select", " ".join(names)], url, settings, run_date,
                               trigger_vars(policy, run_date, settings.store_time_zone))
    failed = [r for r in results if r.status != "success"]
    if code != 0 or failed:
        details = "\n".join(f"- {r.unique_id}: {r.status}: {(r.message or '').strip()[:500]}" for r in failed)
        raise DbtError(f"dbt run of the action triggers for {run_date} failed (exit {code}):\n{details}")

VALUES = "actions_customer_values"

CANDIDATES_DDL = f"""
create temp table {CANDIDATES} (
    customer_id text not null,
    action_type text not null,
    trigger_code text not null,
    trigger_detail text not null,
    trigger_date date,
    base_value numeric not null,
    product_ids text[] not null default '{{}}',
    model_reason text,
    model_version text,
    primary key (customer_id, action_type)
) on commit drop
"""

VALUES_DDL = f"""
create temp table {VALUES} (
    customer_id text primary key,
    value_90d numeric not null,
    revenue_rate_90d numeric not null,
    churn_risk double precision,
    churn_source text not null default 'rules',
    value_source text not null default 'rules',
    churn_reason text,
    value_reason text,
    next_purchase_reason text,
    churn_version text not null default 'rules',
    value_version text not null default 'rules',
    next_purchase_version text not null default 'rules'
) on commit drop
"""

# Rules when there are no ML scores: the revenue rate over the customer's buying life scaled to 90 days (what the
# customer is worth while they stay), a churn risk that grows with the time since the last order relative to the
# customer's own rhythm (60 days by default), and the expected 90-day value = rate x (1 - churn risk).
RULES = """
select
    c.customer_id,
    case when c.count_orders > 0
        then c.total_revenue * 90.0 / greatest(%(as_of)s::date - c.first_order_date, 90) else 0 end as rate,
    case when c.count_orders > 0
        then least(0.99, greatest(0.01, 1 - exp(-1.0 * coalesce(c.days_since_last_order, 0)
            / (2 * greatest(coalesce(c.avg_days_between_purchases, 60), 7))))) end as churn_risk
from core.dim_customers as c
"""
RULE_VALUES = f"""
insert into {VALUES} (customer_id, revenue_rate_90d, churn_risk, value_90d)
select customer_id, rate, churn_risk, rate * (1 - coalesce(churn_risk, 0)) from ({RULES}) as rules
"""
# One pass over the customers with the night's scores joined in; the rules fill in whoever was not scored.
SCORED_VALUES = f"""
insert into {VALUES} (customer_id, revenue_rate_90d, churn_risk, value_90d, churn_source, value_source, churn_reason,
    value_reason, next_purchase_reason, churn_version, value_version, next_purchase_version)
with rules as ({RULES}),
scores as (
    select customer_id, model, score, method, nullif(concat_ws(', ', reason_1, reason_2, reason_3), '') as reason,
        method || ' ' || model_version || case when is_fallback then ' (fallback)' else '' end as version
    from ml.customer_scores
    where as_of_date = %(latest)s and score is not null
)
select rules.customer_id,
    case when value.score is null then rules.rate
        else value.score / greatest(1 - coalesce(churn.score, rules.churn_risk, 0), 0.05) end,
    coalesce(churn.score, rules.churn_risk),
    coalesce(value.score, rules.rate * (1 - coalesce(rules.churn_risk, 0))),
    coalesce(churn.method, 'rules'), coalesce(value.method, 'rules'), churn.reason, value.reason, next.reason,
    coalesce(churn.version, 'rules'), coalesce(value.version, 'rules'), coalesce(next.version, 'rules')
from rules
left join scores as churn on rules.customer_id = churn.customer_id and churn.model = 'churn_risk'
left join scores as value on rules.customer_id = value.customer_id and value.model = 'value_90d'
left join scores as next on rules.customer_id = next.customer_id and next.model = 'next_purchase'
"""


@dataclass(frozen=True)
class Trigger:
    action_type: str
    needs: tuple[str, ...]
    sql: str

    def params(self, policy: Policy, run_date: date, decision_at: datetime) -> dict[str, Any]:
        p = dict(policy.action_types[self.action_type].trigger)
        p.update(run_date=run_date, as_of=run_date + timedelta(days=1), decision_at=decision_at)
        return p


def _insert(action_type: str, body: str) -> str:
    return (
        f"insert into {CANDIDATES} (customer_id, action_type, trigger_code, trigger_detail, trigger_date, "
        f"base_value, product_ids, model_reason, model_version)\n"
        f"select customer_id, '{action_type}', trigger_code, trigger_detail, trigger_date, "
        f"coalesce(base_value, 0), coalesce(product_ids, '{{}}'), model_reason, model_version from (\n{body}\n) as t"
    )


CORE = ("core.dim_customers",)
TRIGGERS: dict[str, Trigger] = {
    t.action_type: t
    for t in (
        Trigger("service_recovery", (*CORE, "core.fct_reviews", "core.fct_orders", "core.dim_products"),
                SERVICE_RECOVERY),
        Trigger("replenishment_reminder", (*CORE, "intermediate.int_category_purchases_sequenced",
                                           "core.fct_order_lines", "core.dim_products"), REPLENISHMENT_RULES),
        Trigger("maintenance_reminder", (*CORE, "core.fct_order_lines", "core.dim_products"), MAINTENANCE),
        Trigger("cart_recovery", (*CORE, "core.fct_web_sessions", "intermediate.int_web_events_sessionized",
                                  "core.fct_orders", "core.dim_products"), CART_RECOVERY),
        Trigger("churn_prevention", CORE, CHURN_PREVENTION),
        Trigger("win_back", CORE, WIN_BACK),
        Trigger("cross_sell", (*CORE, "core.fct_order_lines", "core.dim_products"), CROSS_SELL),
        Trigger("vip_recognition", (*CORE, "core.fct_orders"), VIP_RECOGNITION),
        Trigger("special_date", (*CORE, "restricted.dim_customer_contacts"), SPECIAL_DATE),
        Trigger("feedback_request", (*CORE, "core.fct_orders", "core.fct_reviews", "core.fct_order_lines"),
                FEEDBACK_REQUEST),
    )
}


def existing(conn: psycopg.Connection, names: tuple[str, ...] | list[str]) -> set[str]:
    rows = conn.execute(
        "select n from unnest(%s::text[]) as n where to_regclass(n) is not null", (list(names),)
    ).fetchall()
    return {r[0] for r in rows}


def trigger_sql(action_type: str, available: set[str]) -> str:
    """The trigger's statement for the tables that exist (optional inputs are left out when missing)."""
    body = TRIGGERS[action_type].sql
    if action_type == "replenishment_reminder":
        ml = REPLENISHMENT_ML_UNION if "ml.customer_category_scores" in available else ""
        body = body.replace("{ml_union}", ml)
    elif action_type == "cross_sell":
        web = {"core.fct_web_sessions", "intermediate.int_web_events_sessionized"} <= available
        body = body.format(
            browsing=CROSS_SELL_BROWSING if web else "",
            browsing_select="select customer_id, product_id, source_rank, why from browsing union all " if web else "",
        )
    return _insert(action_type, body)


SCORE_COLUMNS = {"customer_id", "as_of_date", "model", "model_version", "method", "is_fallback", "score", "reason_1",
                 "reason_2", "reason_3"}


def score_columns(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'ml' and table_name = 'customer_scores'"
    ).fetchall()
    return {r[0] for r in rows}


def build_customer_values(conn: psycopg.Connection, as_of: date, available: set[str]) -> str:
    """``actions_customer_values``: 90-day value and churn risk per customer, with their source and reasons.

    Returns where the scores came from, for the run summary."""
    conn.execute(VALUES_DDL)
    source = _score_source(conn, as_of, available)
    if isinstance(source, str):
        conn.execute(RULE_VALUES, {"as_of": as_of})
        return source
    conn.execute(SCORED_VALUES, {"as_of": as_of, "latest": source})
    return f"ml.customer_scores as of {source}"


def _score_source(conn: psycopg.Connection, as_of: date, available: set[str]) -> date | str:
    """The as-of date of the scores to use, or why the rules serve alone."""
    if "ml.customer_scores" not in available:
        return "rules (ml.customer_scores does not exist yet)"
    missing = SCORE_COLUMNS - score_columns(conn)
    if missing:
        return f"rules (ml.customer_scores lacks {', '.join(sorted(missing))})"
    latest = conn.execute(
        "select max(as_of_date) from ml.customer_scores where as_of_date <= %s", (as_of,)
    ).fetchone()[0]
    return latest if latest is not None else f"rules (ml.customer_scores has no scores up to {as_of})"


def build_candidates(
    conn: psycopg.Connection, policy: Policy, run_date: date, decision_at: datetime
) -> tuple[dict[str, int], dict[str, str], dict[str, float]]:
    """Fill ``actions_candidates`` (inside the caller's transaction); returns counts per action type, notes
    (skipped triggers, where scores came from) and the seconds each trigger took."""
    as_of = run_date + timedelta(days=1)
    wanted = {n for t in TRIGGERS.values() for n in t.needs} | {
        "ml.customer_scores",
        "ml.customer_category_scores",
    }
    available = existing(conn, sorted(wanted))
    notes: dict[str, str] = {}
    counts: dict[str, int] = {}
    seconds: dict[str, float] = {}
    conn.execute(CANDIDATES_DDL)
    if "core.dim_customers" not in available:
        notes["all"] = "core.dim_customers does not exist: no candidates (has the warehouse been built?)"
        return counts, notes, seconds
    started = time.perf_counter()
    notes["scores"] = build_customer_values(conn, as_of, available)
    seconds["customer values"] = time.perf_counter() - started
    for action_type in policy.action_types:
        trigger = TRIGGERS[action_type]
        missing = [n for n in trigger.needs if n not in available]
        if missing:
            notes[action_type] = f"skipped: {', '.join(missing)} missing"
            counts[action_type] = 0
            continue
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(trigger_sql(action_type, available), trigger.params(policy, run_date, decision_at))
            counts[action_type] = cur.rowcount
        seconds[action_type] = time.perf_counter() - started
    log.info("candidates per action type: %s", counts)
    return counts, notes, seconds
