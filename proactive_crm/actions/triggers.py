"""Candidate actions per action type, computed inside the warehouse by dbt models (only candidates leave it).

Each trigger is a view of ``dbt_project/models/actions/triggers`` (``action_triggers.trigger_<type>``) that reads the
marts by ``ref()`` and the ML scores as dbt sources, so dbt's lineage and docs run from the landing sources to the
published actions. The decide step builds them (``build_trigger_models``) after scoring, with the contact policy's
``action_types.<type>.trigger`` settings and the decision instant as dbt vars, then copies their rows into the
temporary table ``actions_candidates`` inside its transaction. Every trigger reads the marts of the business day
``run_date`` (data up to its end) and proposes at most one candidate per customer, for the send day
``as_of = run_date + 1``:

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
when it exists, else from rules on ``core.dim_customers``: the table ``action_triggers.trigger_customer_values``,
built with the views.
"""

from __future__ import annotations

import logging
import time
from datetime import date, timedelta
from typing import Any

import psycopg

from proactive_crm.actions.policy import Policy, load_policy
from proactive_crm.actions.windows import decision_time
from proactive_crm.config import Settings

log = logging.getLogger(__name__)

CANDIDATES = "actions_candidates"
# The dbt models of the triggers: one view per action type, and the customer values they and the decision share.
TRIGGER_SCHEMA = "action_triggers"
VALUES_MODEL = "trigger_customer_values"
VALUES = f"{TRIGGER_SCHEMA}.{VALUES_MODEL}"

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

# The tables each trigger's model reads: a trigger whose inputs do not exist yet (a first night, a sparse test
# warehouse) is skipped with a note instead of failing its view. Optional inputs (the ML category scores, the web
# models for browsing) are left out by the models themselves.
CORE = ("core.dim_customers",)
NEEDS: dict[str, tuple[str, ...]] = {
    "service_recovery": (*CORE, "core.fct_reviews", "core.fct_orders", "core.dim_products"),
    "replenishment_reminder": (*CORE, "intermediate.int_category_purchases_sequenced", "core.fct_order_lines",
                               "core.dim_products"),
    "maintenance_reminder": (*CORE, "core.fct_order_lines", "core.dim_products"),
    "cart_recovery": (*CORE, "core.fct_web_sessions", "intermediate.int_web_events_sessionized", "core.fct_orders",
                      "core.dim_products"),
    "churn_prevention": CORE,
    "win_back": CORE,
    "cross_sell": (*CORE, "core.fct_order_lines", "core.dim_products"),
    "vip_recognition": (*CORE, "core.fct_orders"),
    "special_date": (*CORE, "restricted.dim_customer_contacts"),
    "feedback_request": (*CORE, "core.fct_orders", "core.fct_reviews", "core.fct_order_lines"),
}
SCORE_COLUMNS = {"customer_id", "as_of_date", "model", "model_version", "method", "is_fallback", "score", "reason_1",
                 "reason_2", "reason_3"}


def trigger_model(action_type: str) -> str:
    return f"trigger_{action_type}"


def trigger_vars(policy: Policy, run_date: date, store_time_zone: str) -> dict[str, Any]:
    """The dbt vars of the trigger models: the policy's trigger settings per action type and the decision instant."""
    return {
        "action_triggers": {name: dict(action.trigger) for name, action in policy.action_types.items()},
        "decision_at": decision_time(run_date, store_time_zone).isoformat(),
    }


def night_vars(settings: Settings, run_date: date) -> dict[str, Any]:
    """The trigger values of the night's contact policy, which every dbt invocation of the night passes.

    They reach dbt in the environment with run_date (CRM_DBT_NIGHT, read at execution; dbt_runner.NIGHT_VARS), so a
    new value costs no whole-project parse; the YAML files that read run_date while parsing (the incremental tests'
    windows) are re-parsed when that variable changes. Passing the same values to every invocation of the night
    keeps it one value a night: the staging and warehouse builds and the docs pass them too, although only the
    trigger models read them."""
    return trigger_vars(load_policy(settings), run_date, settings.store_time_zone)


def existing(conn: psycopg.Connection, names: tuple[str, ...] | list[str]) -> set[str]:
    rows = conn.execute(
        "select n from unnest(%s::text[]) as n where to_regclass(n) is not null", (list(names),)
    ).fetchall()
    return {r[0] for r in rows}


def buildable(conn: psycopg.Connection, policy: Policy) -> tuple[list[str], dict[str, str]]:
    """The policy's action types whose inputs exist, and a note for each one skipped."""
    available = existing(conn, sorted({n for t in policy.action_types for n in NEEDS[t]}))
    if "core.dim_customers" not in available:
        return [], {"all": "core.dim_customers does not exist: no candidates (has the warehouse been built?)"}
    ready, notes = [], {}
    for action_type in policy.action_types:
        missing = [n for n in NEEDS[action_type] if n not in available]
        if missing:
            notes[action_type] = f"skipped: {', '.join(missing)} missing"
        else:
            ready.append(action_type)
    return ready, notes


def build_trigger_models(
    url: str,
    settings: Settings,
    policy: Policy,
    run_date: date,
    action_types: list[str] | None = None,
    store_time_zone: str | None = None,
) -> None:
    """``dbt run`` of the customer values and the trigger views of ``action_types`` (default: the policy's).

    Run it outside any transaction of the caller that read these relations: dbt replaces them from its own
    connection."""
    from proactive_crm.dbt_runner import DbtError, run_dbt

    chosen = list(policy.action_types) if action_types is None else action_types
    names = [VALUES_MODEL] + [trigger_model(t) for t in chosen]
    code, _, results = run_dbt(["run", "--select", " ".join(names)], url, settings, run_date,
                               trigger_vars(policy, run_date, store_time_zone or settings.store_time_zone))
    failed = [r for r in results if r.status != "success"]
    if code != 0 or failed:
        details = "\n".join(f"- {r.unique_id}: {r.status}: {(r.message or '').strip()[:500]}" for r in failed)
        raise DbtError(f"dbt run of the action triggers for {run_date} failed (exit {code}):\n"
                       f"{details or '- see the dbt log above'}\nLogs: {settings.state_dir / 'dbt' / 'logs'}")


def score_source(conn: psycopg.Connection, as_of: date) -> str:
    """Where the customer values' scores came from, for the run summary (the model decides the same way)."""
    if not existing(conn, ["ml.customer_scores"]):
        return "rules (ml.customer_scores does not exist yet)"
    present = {r[0] for r in conn.execute(
        "select column_name from information_schema.columns "
        "where table_schema = 'ml' and table_name = 'customer_scores'"
    ).fetchall()}
    missing = SCORE_COLUMNS - present
    if missing:
        return f"rules (ml.customer_scores lacks {', '.join(sorted(missing))})"
    latest = conn.execute(
        "select max(as_of_date) from ml.customer_scores where as_of_date <= %s", (as_of,)
    ).fetchone()[0]
    return f"ml.customer_scores as of {latest}" if latest else f"rules (ml.customer_scores has no scores up to {as_of})"


def build_candidates(
    conn: psycopg.Connection, policy: Policy, run_date: date, ready: list[str], notes: dict[str, str]
) -> tuple[dict[str, int], dict[str, str], dict[str, float]]:
    """Fill ``actions_candidates`` from the trigger views of ``ready`` (inside the caller's transaction); returns
    counts per action type, notes (skipped triggers, where scores came from) and the seconds each trigger took."""
    notes = dict(notes)
    counts: dict[str, int] = {t: 0 for t in policy.action_types if t not in ready}
    seconds: dict[str, float] = {}
    conn.execute(CANDIDATES_DDL)
    if "all" in notes:
        return {}, notes, seconds
    notes["scores"] = score_source(conn, run_date + timedelta(days=1))
    for action_type in policy.action_types:
        if action_type not in ready:
            continue
        started = time.perf_counter()
        with conn.cursor() as cur:
            cur.execute(
                f"insert into {CANDIDATES} (customer_id, action_type, trigger_code, trigger_detail, trigger_date, "
                "base_value, product_ids, model_reason, model_version) "
                "select customer_id, %s, trigger_code, trigger_detail, trigger_date, coalesce(base_value, 0), "
                "coalesce(product_ids, '{}'), model_reason, model_version "
                f"from {TRIGGER_SCHEMA}.{trigger_model(action_type)}",
                (action_type,),
            )
            counts[action_type] = cur.rowcount
        seconds[action_type] = time.perf_counter() - started
    log.info("candidates per action type: %s", counts)
    return counts, notes, seconds


def prepare_triggers(
    conn: psycopg.Connection, url: str, settings: Settings, policy: Policy, run_date: date, store_time_zone: str
) -> tuple[list[str], dict[str, str], float]:
    """Build the trigger models whose inputs exist (before the decision's transaction opens); returns the action
    types built, the notes of those skipped and the seconds dbt took."""
    ready, notes = buildable(conn, policy)
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.commit()  # only the catalogue look-up above ran in it; dbt must not wait for its snapshot
    started = time.perf_counter()
    if "all" not in notes:
        build_trigger_models(url, settings, policy, run_date, ready, store_time_zone)
    return ready, notes, time.perf_counter() - started
