"""The contact policy's rules, as pure functions on the candidate frame (one row per customer x action type).

Each returns a mask (or a per-row reason) and nothing else, so every rule is tested on its own; ``decide.py``
applies them in the documented order and records the first rule that stopped a candidate.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

from proactive_crm.actions.policy import Policy

EMAIL_RE = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}$")
E164_RE = re.compile(r"^\+[1-9][0-9]{6,14}$")
CONSENT_COLUMN = {"email": "has_email_consent", "sms": "has_sms_consent"}
# Why a channel cannot be used, in the order a contact attempt gets stuck; a candidate with no usable channel is
# suppressed for the reason of the channel that got furthest.
CHANNEL_BLOCKERS = ("not_allowed", "no_consent", "no_contact_address", "invalid_contact_address", "channel_suppressed")


def value_at_stake(frame: pd.DataFrame, policy: Policy) -> np.ndarray:
    """base_value x multiplier, at least the minimum; or the fixed value of the action type."""
    out = np.zeros(len(frame))
    base = pd.to_numeric(frame["base_value"], errors="coerce").fillna(0).to_numpy(dtype=float)
    types = frame["action_type"].to_numpy()
    for name, action in policy.action_types.items():
        rows = types == name
        if "fixed" in action.value:
            out[rows] = action.value["fixed"]
        else:
            out[rows] = np.maximum(base[rows] * action.value.get("multiplier", 1.0), action.value.get("minimum", 0.0))
    return np.round(out, 2)


def is_high_value(frame: pd.DataFrame, policy: Policy) -> np.ndarray:
    pareto = frame["pareto_class"].isin(policy.high_value_pareto_classes).to_numpy()
    value = pd.to_numeric(frame["value_90d"], errors="coerce").fillna(0).to_numpy(dtype=float)
    return pareto | (value >= policy.high_value_min_value_90d)


def valid_address(values: pd.Series, kind: str) -> np.ndarray:
    pattern = EMAIL_RE if kind == "email" else E164_RE
    return values.fillna("").astype(str).str.strip().map(lambda v: bool(pattern.match(v))).to_numpy()


def channel_blockers(frame: pd.DataFrame, policy: Policy, high_value: np.ndarray) -> dict[str, np.ndarray]:
    """Per channel, why each candidate cannot use it (None where it can): allowed for the action type (the
    high-value channels only for high-value customers), consent in the latest customer record, an address, a valid
    address, and no unsubscribe / complaint / bounce on that channel."""
    types = frame["action_type"].to_numpy()
    out: dict[str, np.ndarray] = {}
    for name, channel in policy.channels.items():
        allowed = np.zeros(len(frame), dtype=bool)
        for action in policy.action_types.values():
            rows = types == action.name
            if name in action.channels:
                allowed |= rows
            elif name in action.high_value_channels:
                allowed |= rows & high_value
        consent = frame[CONSENT_COLUMN[channel.consent]].fillna(False).astype(bool).to_numpy()
        address = frame[channel.address].fillna("").astype(str).str.strip()
        has_address = (address != "").to_numpy()
        valid = valid_address(address, channel.address)
        suppressed = frame[f"suppressed_{name}"].notna().to_numpy()
        out[name] = np.select(
            [~allowed, ~consent, ~has_address, ~valid, suppressed], list(CHANNEL_BLOCKERS), default=None
        ).astype(object)
        out[name][out[name] == "None"] = None
    return out


def no_channel_reason(blockers: dict[str, np.ndarray], frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For each candidate: the suppression reason when no channel is usable (None otherwise), and a detail text
    naming each allowed channel's blocker."""
    rank = {reason: i for i, reason in enumerate(CHANNEL_BLOCKERS)}
    n = len(frame)
    usable = np.zeros(n, dtype=bool)
    furthest = np.full(n, -1)
    details = [[] for _ in range(n)]
    for name, reasons in blockers.items():
        usable |= pd.isna(reasons)
        for i, reason in enumerate(reasons):
            if reason is not None and reason != "not_allowed":
                furthest[i] = max(furthest[i], rank[reason])
                extra = f" ({frame['suppressed_' + name].iat[i]})" if reason == "channel_suppressed" else ""
                details[i].append(f"{name}: {reason.replace('_', ' ')}{extra}")
    reason = np.array([CHANNEL_BLOCKERS[r] if r >= 0 else "not_allowed" for r in furthest], dtype=object)
    reason[usable] = None
    detail = np.array(["; ".join(d) if d else None for d in details], dtype=object)
    detail[usable] = None
    return reason, detail


def cool_down(frame: pd.DataFrame, policy: Policy, run_date: date) -> np.ndarray:
    """A would-be contact of the same action type within its cool_down_days before the run date."""
    last = pd.to_datetime(frame["last_same_type_date"], errors="coerce")
    days = (pd.Timestamp(run_date) - last).dt.days.to_numpy(dtype=float)
    limit = frame["action_type"].map({t: a.cool_down_days for t, a in policy.action_types.items()}).to_numpy(float)
    return np.nan_to_num(days, nan=np.inf) < limit


def frequency_cap(frame: pd.DataFrame, policy: Policy) -> np.ndarray:
    """One more contact would exceed max_contacts_per_7_days (the run date and the six days before it)."""
    prior = pd.to_numeric(frame["contacts_7d"], errors="coerce").fillna(0).to_numpy()
    return prior + 1 > policy.max_contacts_per_7_days


def one_per_day(
    frame: pd.DataFrame, live: np.ndarray, expected_value: np.ndarray, policy: Policy
) -> tuple[np.ndarray, np.ndarray]:
    """Among a customer's live candidates keep max_contacts_per_day: pre-empting types (service_recovery) first,
    then the highest expected value. Returns the losers and their reason."""
    preempts = frame["action_type"].map({t: a.preempts for t, a in policy.action_types.items()}).to_numpy(bool)
    order = pd.DataFrame(
        {"customer_id": frame["customer_id"].to_numpy(), "preempts": preempts, "ev": expected_value,
         "action_type": frame["action_type"].to_numpy(), "row": np.arange(len(frame))}
    )[live]
    order = order.sort_values(["customer_id", "preempts", "ev", "action_type"], ascending=[True, False, False, True])
    position = order.groupby("customer_id").cumcount().to_numpy()
    losers = np.zeros(len(frame), dtype=bool)
    losers[order["row"].to_numpy()[position >= policy.max_contacts_per_day]] = True
    winner_preempts = order.groupby("customer_id")["preempts"].transform("first")
    reason = np.full(len(frame), None, dtype=object)
    reason[order["row"].to_numpy()] = np.where(
        winner_preempts.to_numpy(), "preempted_by_service_recovery", "one_action_per_day"
    )
    reason[~losers] = None
    return losers, reason


def allocate_capacity(
    ev: np.ndarray,
    live: np.ndarray,
    treated: np.ndarray,
    tie_key: np.ndarray,
    capacities: list[int | None],
    min_value: float = -np.inf,
) -> np.ndarray:
    """Channel index per candidate (-1 where none is left): each takes its best channel by expected value; a channel
    over its daily capacity keeps its highest priorities and the rest fall back to their next usable channel, one
    still worth more than ``min_value`` (the policy's min_expected_value): a full SMS budget must not push a
    customer onto a channel where the contact is worth nothing.

    Only treated candidates use capacity. Control-group and holdout candidates are placed where they would have been
    (a channel keeps them when their priority beats its last treated selection), so their would-be actions stay
    comparable to the treated ones without costing seats or SMS budget."""
    options = np.where(live[:, None] & (ev > min_value), ev, -np.inf)
    remaining = np.array([np.inf if c is None else float(c) for c in capacities])
    assigned = np.full(len(ev), -1)
    pending = live & np.isfinite(options.max(axis=1))
    while pending.any():
        choice = np.where(pending, options.argmax(axis=1), -1)
        rejected = np.zeros(len(ev), dtype=bool)
        for c in range(ev.shape[1]):
            rows = np.flatnonzero(choice == c)
            if not len(rows):
                continue
            rows = rows[np.lexsort((tie_key[rows], -ev[rows, c]))]
            is_treated = treated[rows].astype(int)
            cum = np.cumsum(is_treated)
            accept = np.where(is_treated == 1, cum <= remaining[c], cum - is_treated < remaining[c])
            assigned[rows[accept]] = c
            remaining[c] -= is_treated[accept].sum()
            rejected[rows[~accept]] = True
            options[rows[~accept], c] = -np.inf
        pending = rejected & np.isfinite(options.max(axis=1))
    return assigned
