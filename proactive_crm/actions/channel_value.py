"""Expected value of contacting each candidate on each channel: the response rate (or the uplift learner, where it
is active for the action type) x value at stake - the channel's cost; -inf where a rule blocks the channel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from proactive_crm.actions import priority, uplift
from proactive_crm.actions.policy import Policy


@dataclass
class Scored:
    ev: np.ndarray  # (rows, channels), -inf where the channel is not usable
    p: np.ndarray  # response probability or uplift used, per channel
    method: np.ndarray  # ranking method per channel (object)
    evidence: np.ndarray  # per channel: "successes/trials" or the Qini text


def score(frame: pd.DataFrame, value: np.ndarray, policy: Policy, rates: pd.DataFrame,
          models: dict[str, uplift.UpliftModel], blockers: dict[str, np.ndarray]) -> Scored:
    names = list(policy.channels)
    n = len(frame)
    ev = np.full((n, len(names)), -np.inf)
    p = np.full((n, len(names)), np.nan)
    method = np.full((n, len(names)), "", dtype=object)
    evidence = np.full((n, len(names)), "", dtype=object)
    types = frame["action_type"].to_numpy()
    learner_input = frame.assign(value_at_stake=value)  # the uplift features as the decisions table stores them
    for j, channel in enumerate(names):
        prob, how, seen = priority.lookup(rates, frame, channel)
        p[:, j], method[:, j], evidence[:, j] = prob, how, seen
        for action_type, model in models.items():
            rows = np.flatnonzero(types == action_type)
            if model.active and len(rows):
                p[rows, j] = uplift.predict(model, learner_input.iloc[rows], channel)
                method[rows, j] = "uplift_two_model"
                evidence[rows, j] = f"Qini {model.qini:.2f}" if model.qini is not None else ""
        usable = pd.isna(blockers[channel]) & np.isfinite(p[:, j])
        ev[usable, j] = priority.expected_value(p[usable, j], value[usable], policy.channels[channel].cost)
    return Scored(ev, p, method, evidence)
