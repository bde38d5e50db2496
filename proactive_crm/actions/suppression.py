"""The contact policy's rules in their order (decide.py's docstring lists them): the first rule that stops a
candidate names its ``suppression_reason``; the survivors share each channel's daily capacity by expected value.
The control group and the holdouts take part in the capacity ranking but are never given capacity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from proactive_crm.actions import groups, rules
from proactive_crm.actions.policy import Policy


@dataclass
class Verdict:
    reason: np.ndarray  # suppression_reason per candidate, None where no rule stopped it
    detail: np.ndarray  # suppression_detail: each allowed channel's blocker when no channel is usable
    best_ev: np.ndarray  # the best expected value over the usable channels, -inf when none is usable
    assigned: np.ndarray  # the channel column that gave the candidate capacity, -1 when none did
    control: np.ndarray  # in the global control group
    holdout: np.ndarray  # in the action type's holdout

    @property
    def live(self) -> np.ndarray:
        return pd.isna(self.reason)

    def outcomes(self) -> np.ndarray:
        """suppressed, else control_group, else holdout, else selected."""
        return np.where(~self.live, "suppressed", np.where(self.control, "control_group",
                                                           np.where(self.holdout, "holdout", "selected")))


def _stop(reason: np.ndarray, mask: np.ndarray, why: str | np.ndarray) -> None:
    """Give ``why`` to the rows of ``mask`` that no earlier rule stopped (the first rule keeps its reason)."""
    hit = mask & pd.isna(reason)
    reason[hit] = why if isinstance(why, str) else why[hit]


def best_expected_value(ev: np.ndarray) -> np.ndarray:
    return ev.max(axis=1) if ev.shape[1] else np.full(len(ev), -np.inf)


def apply_contact_policy(frame: pd.DataFrame, policy: Policy, run_date: date, ev: np.ndarray,
                         blockers: dict[str, np.ndarray], action_ids: np.ndarray) -> Verdict:
    """Rules 1-6 of the contact policy on the candidate frame, given the expected value per channel ``ev``."""
    no_channel, detail = rules.no_channel_reason(blockers, frame)
    reason = np.full(len(frame), None, dtype=object)
    reason[:] = no_channel
    _stop(reason, rules.cool_down(frame, policy, run_date), "cool_down")
    _stop(reason, rules.frequency_cap(frame, policy), "frequency_cap")
    best_ev = best_expected_value(ev)
    _stop(reason, best_ev <= policy.min_expected_value, "not_worth_contacting")
    losers, loser_reason = rules.one_per_day(frame, pd.isna(reason), best_ev, policy)
    _stop(reason, losers, loser_reason)

    control = groups.in_control_group(frame["customer_id"], policy.control_salt, policy.control_share)
    holdout = groups.in_holdout(frame["action_type"], frame["customer_id"], policy.holdout_salt, policy.holdout_share)
    live = pd.isna(reason)
    assigned = rules.allocate_capacity(
        ev, live, ~control & ~holdout, action_ids,
        [channel.daily_capacity for channel in policy.channels.values()], policy.min_expected_value,
    )
    _stop(reason, live & (assigned < 0), "capacity")
    return Verdict(reason, detail, best_ev, assigned, control, holdout)
