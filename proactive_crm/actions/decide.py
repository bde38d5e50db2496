"""The nightly decision: candidates -> priority -> contact policy -> ``actions.decisions`` for the run date.

Order of the rules (the first that stops a candidate is its ``suppression_reason``):

1. a usable channel: allowed for the action type (call centre only for high-value customers where configured),
   consent in the latest customer record, an address, a valid address (e-mail syntax, E.164), and no unsubscribe,
   complaint or bounce on that channel (``no_consent``, ``no_contact_address``, ``invalid_contact_address``,
   ``channel_suppressed``; the channel that got furthest names the reason);
2. ``cool_down``: a would-be contact of the same action type within its cool_down_days;
3. ``frequency_cap``: the contact would exceed max_contacts_per_7_days;
4. ``not_worth_contacting``: expected value not above min_expected_value on any usable channel;
5. one action per customer per day: ``preempted_by_service_recovery`` / ``one_action_per_day``;
6. ``capacity``: the channel's daily capacity went to higher priorities and no other usable channel had room.

What survives is ``selected``, unless the customer is in the global control group (``control_group``) or in the
action type's holdout (``holdout``): those are logged with their would-be channel, priority and send time and never
published. The whole night is written in one transaction, replacing an earlier run of the same date, so a re-run
gives the same decisions and the same action ids.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg

from proactive_crm.actions import decision_rows, priority, rules, triggers, uplift
from proactive_crm.actions.channel_value import score
from proactive_crm.actions.policy import Policy
from proactive_crm.actions.store import ensure_actions_schema, table_exists
from proactive_crm.actions.suppression import apply_contact_policy
from proactive_crm.config import Settings, load_settings
from proactive_crm.warehouse import warehouse_url
from proactive_crm.warehouse_frames import copy_frame, read_object_frame

log = logging.getLogger(__name__)

DECISION_COLUMNS = (
    "run_date", "as_of_date", "customer_id", "action_type", "trigger_code", "trigger_detail", "trigger_date",
    "segment", "pareto_class", "is_high_value", "value_at_stake", "churn_risk", "value_90d",
    "days_since_last_order", "count_orders", "total_revenue", "channel", "p_response", "uplift", "expected_value",
    "ranking_method", "outcome", "suppression_reason", "suppression_detail", "priority_rank", "action_id",
    "contact_address", "time_zone", "template_id", "personalisation", "send_after", "expires_at", "reason",
    "model_versions", "window_days", "policy_version",
)
@dataclass
class DecisionSummary:
    run_date: date
    candidates: dict[str, int]
    outcomes: dict[str, int]
    suppressed: dict[str, int]
    selected_by_channel: dict[str, int]
    ranking: dict[str, str]
    notes: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    step_seconds: dict[str, float] = field(default_factory=dict)  # triggers, scoring and policy, writing

    @property
    def count_candidates(self) -> int:
        return sum(self.candidates.values())

    def lines(self) -> list[str]:
        out = [f"actions for {self.run_date}: {self.count_candidates:,} candidates in {self.seconds:.1f} s"]
        out += [f"  {k}: {v:,}" for k, v in self.outcomes.items()]
        out += [f"  suppressed, {k.replace('_', ' ')}: {v:,}" for k, v in self.suppressed.items()]
        out.append("  selected per channel: " + ", ".join(f"{k} {v:,}" for k, v in self.selected_by_channel.items()))
        out.append("  candidates per type: " + ", ".join(f"{k} {v:,}" for k, v in self.candidates.items()))
        out.append("  ranking: " + ", ".join(f"{k} {v}" for k, v in self.ranking.items()))
        out += [f"  note ({k}): {v}" for k, v in self.notes.items()]
        out.append("  seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in self.step_seconds.items()))
        return out

    def as_dict(self) -> dict:
        return {"candidates": self.candidates, "outcomes": self.outcomes, "suppressed": self.suppressed,
                "selected_by_channel": self.selected_by_channel, "ranking": self.ranking, "notes": self.notes}


# Contact details live apart from the customer dimension (README "Privacy"); only this query joins them.
CONTACTS = "restricted.dim_customer_contacts"


def frame_query(policy: Policy, responses_available: bool) -> str:
    max_cool_down = max((a.cool_down_days for a in policy.action_types.values()), default=0)
    suppress = ", ".join("'" + s + "'" for s in policy.suppress_channel_on) or "''"
    per_channel = ",\n".join(
        f"min(response_status || ' on ' || occurred_date) filter (where channel = '{ch}') as suppressed_{ch}"
        for ch in policy.channels
    )
    suppressions = (
        f"select customer_id, {per_channel} from {priority.RESPONSES} "
        f"where response_status in ({suppress}) and occurred_date <= %(run_date)s group by customer_id"
        if responses_available
        else "select null::text as customer_id, "
        + ", ".join(f"null::text as suppressed_{ch}" for ch in policy.channels)
        + " where false"
    )
    return f"""
    with history as (
        select customer_id, count(*) as contacts_7d from actions.decisions
        where outcome <> 'suppressed' and run_date > %(run_date)s::date - 7 and run_date < %(run_date)s
        group by customer_id
    ),
    same_type as (
        select customer_id, action_type, max(run_date) as last_same_type_date from actions.decisions
        where outcome <> 'suppressed' and run_date < %(run_date)s and run_date >= %(run_date)s::date - {max_cool_down}
        group by customer_id, action_type
    ),
    suppressions as ({suppressions})
    select c.customer_id, c.action_type, c.trigger_code, c.trigger_detail, c.trigger_date,
        c.base_value::float8 as base_value, array_to_string(c.product_ids, ',') as product_ids,
        c.model_reason, c.model_version, p.email, p.phone, p.first_name, d.has_email_consent, d.has_sms_consent,
        d.time_zone, d.preferred_contact_hour, d.rfm_segment as segment, d.pareto_class, d.days_since_last_order,
        d.count_orders, d.total_revenue::float8 as total_revenue, v.value_90d::float8 as value_90d, v.churn_risk,
        v.churn_reason, v.value_reason, v.next_purchase_reason, v.churn_version, v.value_version,
        v.next_purchase_version, coalesce(h.contacts_7d, 0) as contacts_7d, t.last_same_type_date,
        {", ".join(f"s.suppressed_{ch}" for ch in policy.channels)}
    from {triggers.CANDIDATES} as c
    inner join core.dim_customers as d on c.customer_id = d.customer_id
    left join {CONTACTS} as p on c.customer_id = p.customer_id
    inner join {triggers.VALUES} as v on c.customer_id = v.customer_id
    left join history as h on c.customer_id = h.customer_id
    left join same_type as t on c.customer_id = t.customer_id and c.action_type = t.action_type
    left join suppressions as s on c.customer_id = s.customer_id
    order by c.customer_id, c.action_type
    """


def action_ids(run_date: date, customer_ids: pd.Series, action_types: pd.Series) -> np.ndarray:
    prefix = run_date.isoformat()
    return np.array(
        [
            "A" + hashlib.sha256(f"{prefix}|{c}|{t}".encode()).hexdigest()[:24]
            for c, t in zip(customer_ids, action_types, strict=True)
        ],
        dtype=object,
    )


def evaluate(
    frame: pd.DataFrame,
    policy: Policy,
    rates: pd.DataFrame,
    models: dict[str, uplift.UpliftModel],
    run_date: date,
    store_time_zone: str,
    products: dict[str, dict] | None = None,
    currency: str = "EUR",
) -> pd.DataFrame:
    """Apply priority and the contact policy to the candidate frame; one decision row per candidate.

    The steps: value at stake and channel blockers (``rules``), expected value per channel (``channel_value``),
    the policy's rules in order and capacity (``suppression``), then the row's channel, rank, contact fields and
    reason text (``decision_rows``)."""
    frame = frame.reset_index(drop=True)
    frame["segment"] = frame["segment"].fillna("prospect")
    names = np.array(list(policy.channels), dtype=object)
    out = pd.DataFrame({"customer_id": frame["customer_id"], "action_type": frame["action_type"]})
    value = rules.value_at_stake(frame, policy)
    high_value = rules.is_high_value(frame, policy)
    blockers = rules.channel_blockers(frame, policy, high_value)
    scored = score(frame, value, policy, rates, models, blockers)
    out["action_id"] = action_ids(run_date, frame["customer_id"], frame["action_type"])
    verdict = apply_contact_policy(frame, policy, run_date, scored.ev, blockers, out["action_id"].to_numpy())
    choice = decision_rows.choose_channel(scored, verdict, names)
    outcome = verdict.outcomes()

    out["outcome"] = outcome
    out["suppression_reason"] = verdict.reason
    out["suppression_detail"] = verdict.detail
    out["channel"] = choice.channel
    out["expected_value"] = np.round(choice.ev, 4)
    is_uplift = choice.method == "uplift_two_model"
    out["p_response"] = np.where(is_uplift, np.nan, choice.p)
    out["uplift"] = np.where(is_uplift, choice.p, np.nan)
    out["ranking_method"] = choice.method
    out["priority_rank"] = decision_rows.priority_ranks(choice, outcome == "selected", out["action_id"])
    contact = outcome != "suppressed"
    for name, values in decision_rows.contact_fields(frame, choice.channel, contact, policy, run_date,
                                                     store_time_zone).items():
        out[name] = values
    out["reason"], out["personalisation"], out["model_versions"] = decision_rows.explanations(
        frame, choice, verdict, outcome, value, policy, models, run_date, products or {}, currency
    )

    out["run_date"] = run_date
    out["as_of_date"] = run_date + timedelta(days=1)
    for name in ("trigger_code", "trigger_detail", "trigger_date", "segment", "pareto_class", "churn_risk",
                 "value_90d", "days_since_last_order", "count_orders", "total_revenue"):
        out[name] = frame[name].to_numpy()
    out["segment"] = out["segment"].fillna("prospect")
    out["is_high_value"] = high_value
    out["value_at_stake"] = value
    out["window_days"] = policy.window_days
    out["policy_version"] = policy.version
    return out[list(DECISION_COLUMNS)]


def _products(conn: psycopg.Connection, ids: pd.Series) -> dict[str, dict]:
    wanted = sorted({p for v in ids.dropna() for p in str(v).split(",") if p})
    if not wanted or not table_exists(conn, "core.dim_products"):
        return {}
    rows = conn.execute(
        "select product_id, product_name, category, price::float8 from core.dim_products where product_id = any(%s)",
        (wanted,),
    ).fetchall()
    return {r[0]: {"product_id": r[0], "name": r[1], "category": r[2], "price": r[3]} for r in rows}


INTEGER_COLUMNS = ("days_since_last_order", "count_orders", "priority_rank", "window_days")


def _for_copy(decisions: pd.DataFrame) -> pd.DataFrame:
    copy = decisions.copy()
    for name in INTEGER_COLUMNS:
        copy[name] = pd.to_numeric(copy[name], errors="coerce").round().astype("Int64")
    for name in ("send_after", "expires_at"):
        copy[name] = copy[name].map(lambda t: t.isoformat() if pd.notna(t) else None)
    for name in ("run_date", "as_of_date", "trigger_date"):
        copy[name] = copy[name].map(lambda d: str(d)[:10] if pd.notna(d) else None)
    return copy


def summarise(run_date: date, counts: dict[str, int], decisions: pd.DataFrame,
              models: dict[str, uplift.UpliftModel], notes: dict[str, str], seconds: float) -> DecisionSummary:
    outcomes = decisions["outcome"].value_counts()
    suppressed = decisions["suppression_reason"].value_counts()
    selected = decisions.loc[decisions["outcome"] == "selected", "channel"].value_counts()
    return DecisionSummary(
        run_date=run_date,
        candidates={k: int(v) for k, v in counts.items()},
        outcomes={k: int(outcomes.get(k, 0)) for k in ("selected", "suppressed", "control_group", "holdout")},
        suppressed={str(k): int(v) for k, v in suppressed.items()},
        selected_by_channel={str(k): int(v) for k, v in selected.items()},
        ranking={t: m.served() for t, m in models.items()},
        notes=notes,
        seconds=seconds,
    )


def decide(
    conn: psycopg.Connection,
    run_date: date,
    policy: Policy,
    store_time_zone: str,
    currency: str = "EUR",
    models_dir: Path | None = None,
    settings: Settings | None = None,
) -> DecisionSummary:
    """Decide the night's actions and replace ``actions.decisions`` for ``run_date`` (one transaction).

    The uplift learner's fits are saved as versions of the model registry in ``models_dir`` (None: not saved).

    The trigger models are built first, by dbt on its own connection, against the warehouse of ``settings``
    (default: the environment's, the one ``conn`` is expected to be connected to)."""
    started = time.perf_counter()
    steps: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        steps[name] = steps.get(name, 0.0) + now - since
        return now

    settings = settings or load_settings()
    ready, skipped, _ = triggers.prepare_triggers(
        conn, warehouse_url(settings), settings, policy, run_date, store_time_zone
    )
    mark = lap("triggers (dbt)", started)
    ensure_actions_schema(conn)
    with conn.transaction():
        counts, notes, trigger_seconds = triggers.build_candidates(conn, policy, run_date, ready, skipped)
        mark = lap("triggers (SQL)", mark)
        if "all" in notes:
            frame = pd.DataFrame()
        else:
            available = table_exists(conn, priority.RESPONSES)
            frame = read_object_frame(conn, frame_query(policy, available), {"run_date": run_date})
        mark = lap("candidates + history", mark)
        observed = priority.observed_outcomes(conn, policy, run_date)
        segments = sorted(set(frame["segment"].dropna()) if len(frame) else set()) or ["prospect"]
        rates = priority.response_table(policy, observed, segments)
        priority.store_response_table(conn, run_date, rates)
        models = uplift.train_uplift(conn, policy, run_date, models_dir) if table_exists(conn, "core.fct_orders") \
            else {t: uplift.UpliftModel(t, "below_minimum", 0, 0, detail="no core.fct_orders") for t in
                  policy.action_types}
        uplift.store_models(conn, run_date, models)
        mark = lap("learning", mark)
        if len(frame):
            products = _products(conn, frame["product_ids"])
            decisions = evaluate(frame, policy, rates, models, run_date, store_time_zone, products, currency)
        else:
            decisions = pd.DataFrame(columns=list(DECISION_COLUMNS))
        mark = lap("priority + policy", mark)
        conn.execute("delete from actions.decisions where run_date = %s", (run_date,))
        copy_frame(conn, "actions.decisions", _for_copy(decisions), DECISION_COLUMNS)
        lap("write decisions", mark)
        summary = summarise(run_date, counts, decisions, models, notes, time.perf_counter() - started)
        summary.step_seconds = steps
        log.info("trigger seconds: %s", {k: round(v, 1) for k, v in trigger_seconds.items()})
        conn.execute(
            "insert into actions.decision_runs (run_date, count_candidates, count_selected, summary, seconds) "
            "values (%s, %s, %s, %s, %s) on conflict (run_date) do update set count_candidates = "
            "excluded.count_candidates, count_selected = excluded.count_selected, summary = excluded.summary, "
            "seconds = excluded.seconds, decided_at = now()",
            (run_date, summary.count_candidates, summary.outcomes["selected"],
             json.dumps({**summary.as_dict(), "seconds": steps, "trigger_seconds": trigger_seconds}),
             summary.seconds),
        )
    for line in summary.lines():
        log.info("%s", line)
    return summary
