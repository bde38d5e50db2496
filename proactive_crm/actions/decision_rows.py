"""The columns of a decision row once the contact policy has spoken: the channel and its figures, the rank within
the channel, where and when to send (address, send window, template) and the reason text people read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from proactive_crm.actions import explain, uplift
from proactive_crm.actions.channel_value import Scored
from proactive_crm.actions.policy import Policy
from proactive_crm.actions.suppression import Verdict
from proactive_crm.actions.windows import send_windows

# None as a numpy value, for np.where's "else" side (numpy's type stubs do not take a bare None there)
NONE = np.array(None, dtype=object)


@dataclass
class Choice:
    column: np.ndarray  # the channel column of the decision, -1 when no channel is usable
    channel: np.ndarray  # its name (object), None when no channel is usable
    ev: np.ndarray  # expected value on that channel, NaN when none
    p: np.ndarray  # response probability or uplift on that channel, NaN when none
    method: np.ndarray  # ranking method on that channel, None when none
    evidence: np.ndarray  # the evidence text on that channel


def choose_channel(scored: Scored, verdict: Verdict, names: np.ndarray) -> Choice:
    """The channel that got capacity for live rows, else the best usable one (the would-be channel, for the audit)."""
    n = len(verdict.best_ev)
    best = np.where(np.isfinite(verdict.best_ev), scored.ev.argmax(axis=1) if len(names) else -1, -1)
    column = np.where(verdict.assigned >= 0, verdict.assigned, best)
    channel = np.where(column >= 0, names[np.maximum(column, 0)], NONE).astype(object)
    pick = np.maximum(column, 0)
    rows = np.arange(n)
    return Choice(
        column=column,
        channel=channel,
        ev=np.where(column >= 0, scored.ev[rows, pick], np.nan),
        p=np.where(column >= 0, scored.p[rows, pick], np.nan),
        method=np.where(column >= 0, scored.method[rows, pick], NONE).astype(object),
        evidence=scored.evidence[rows, pick],
    )


def priority_ranks(choice: Choice, selected: np.ndarray, action_ids: pd.Series) -> pd.Series:
    """1, 2, ... per channel among the selected rows, by expected value (ties by action id); NA elsewhere."""
    ranks = pd.Series(np.nan, index=action_ids.index)
    order = pd.DataFrame({"channel": choice.channel, "ev": choice.ev, "id": action_ids})[selected]
    order = order.sort_values(["channel", "ev", "id"], ascending=[True, False, True])
    ranks[order.index] = order.groupby("channel").cumcount().to_numpy() + 1
    return ranks.astype("Int64")


def contact_fields(frame: pd.DataFrame, channel: np.ndarray, contact: np.ndarray, policy: Policy, run_date: date,
                   store_time_zone: str) -> dict[str, object]:
    """send_after, expires_at, time_zone, contact_address and template_id; empty for suppressed rows."""
    window_channels = np.where(contact, channel, NONE).astype(object)
    send_after, expires_at, zones = send_windows(frame, window_channels, policy, run_date, store_time_zone)
    address = np.full(len(frame), None, dtype=object)
    for name, settings in policy.channels.items():
        rows = contact & (channel == name)
        address[rows] = frame[settings.address].to_numpy(dtype=object)[rows]
    return {
        "send_after": send_after,
        "expires_at": expires_at,
        "time_zone": np.where(contact, zones, NONE),
        "contact_address": address,
        "template_id": np.where(contact, frame["action_type"] + "." + pd.Series(channel, dtype=object).fillna(""),
                                NONE),
    }


def explanations(frame: pd.DataFrame, choice: Choice, verdict: Verdict, outcome: np.ndarray, value: np.ndarray,
                 policy: Policy, models: dict[str, uplift.UpliftModel], run_date: date, products: dict[str, dict],
                 currency: str) -> tuple[list[str], list[str | None], list[str]]:
    """Per row: the reason text (trigger, model, ranking, why not contacted), the personalisation payload of
    contacted rows and the model versions that decided."""
    names = list(policy.channels)
    contact = outcome != "suppressed"
    ranking_version: dict[str, Any] = {
        t: (m.version if m.active else f"beta_binomial@{run_date}") for t, m in models.items()
    }
    texts: list[str] = []
    payloads: list[str | None] = []
    versions: list[str] = []
    for i, row in enumerate(frame.itertuples(index=False)):
        series = row._asdict()
        parts = [row.trigger_detail]
        model_text = explain.model_text(series)
        if model_text:
            parts.append(model_text)
        if choice.column[i] >= 0:
            c = names[choice.column[i]]
            parts.append(explain.ranking_text(choice.method[i], choice.p[i], choice.evidence[i], c, row.segment,
                                              value[i], policy.channels[c].cost, choice.ev[i]))
        if verdict.reason[i] is not None:
            parts.append("not contacted: " + str(verdict.reason[i]).replace("_", " "))
        elif outcome[i] in ("control_group", "holdout"):
            parts.append(f"not contacted: {outcome[i].replace('_', ' ')} (would-be action logged for uplift)")
        texts.append(" | ".join(parts))
        payloads.append(explain.payload(series, products, policy, currency) if contact[i] else None)
        versions.append(explain.model_versions(series, ranking_version.get(row.action_type, "rules"), policy))
    return texts, payloads, versions
