"""Priority = expected value of a contact: P(response | action type, channel, segment) x value at stake - cost.

Response probabilities start at the configured prior of each action type and channel, worth ``prior_strength``
observations, and are updated each night with the matured outcomes of published actions (sent at least
``window_days`` ago): a Beta-Binomial posterior per action type x channel x RFM segment. ``method`` says per row
whether any outcome has been observed yet (``beta_binomial``) or only the prior serves (``beta_binomial_prior``).
The switch to expected incremental value (uplift) lives in ``uplift.py``.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import psycopg

from proactive_crm.actions.policy import Policy
from proactive_crm.actions.store import table_exists

RESPONSES = "staging.stg_outbound__action_responses"


def observed_outcomes(conn: psycopg.Connection, policy: Policy, run_date: date) -> pd.DataFrame:
    """Matured published actions per action type x channel x segment: trials and responses (successes)."""
    matured_until = run_date - timedelta(days=policy.window_days)
    published = " union all ".join(
        f"select action_id, '{ch}' as channel from actions.{tbl}"
        for ch, tbl in (("email", "outbound_email"), ("sms", "outbound_sms"), ("call_center", "call_center_tasks"))
    )
    responded = (
        f"select distinct action_id from {RESPONSES} where response_status = %(status)s"
        if table_exists(conn, RESPONSES)
        else "select null::text as action_id where false"
    )
    rows = conn.execute(
        f"""
        with published as ({published}),
        responded as ({responded})
        select d.action_type, p.channel, d.segment, count(*) as trials, count(r.action_id) as successes
        from actions.decisions as d
        inner join published as p
            on d.action_id = p.action_id
        left join responded as r
            on d.action_id = r.action_id
        where d.outcome = 'selected' and d.run_date <= %(matured_until)s
        group by d.action_type, p.channel, d.segment
        """,
        {"status": policy.response_status, "matured_until": matured_until},
    ).fetchall()
    return pd.DataFrame(rows, columns=["action_type", "channel", "segment", "trials", "successes"])


def posterior_mean(prior: float, strength: float, trials: np.ndarray, successes: np.ndarray) -> np.ndarray:
    """Mean of Beta(prior*strength + successes, (1-prior)*strength + trials - successes)."""
    return (prior * strength + successes) / (strength + trials)


def response_table(policy: Policy, observed: pd.DataFrame, segments: list[str]) -> pd.DataFrame:
    """Posterior per action type x channel x segment for every configured combination (prior where unobserved)."""
    rows = [
        (t.name, ch, seg, t.prior_response[ch])
        for t in policy.action_types.values()
        for ch in t.all_channels()
        for seg in segments
    ]
    table = pd.DataFrame(rows, columns=["action_type", "channel", "segment", "prior"])
    table = table.merge(observed, on=["action_type", "channel", "segment"], how="left")
    table[["trials", "successes"]] = table[["trials", "successes"]].fillna(0).astype("int64")
    table["posterior_mean"] = posterior_mean(
        table["prior"].to_numpy(), policy.prior_strength, table["trials"].to_numpy(), table["successes"].to_numpy()
    )
    observed_pairs = table.groupby(["action_type", "channel"])["trials"].transform("sum") > 0
    table["method"] = np.where(observed_pairs, "beta_binomial", "beta_binomial_prior")
    return table


def store_response_table(conn: psycopg.Connection, run_date: date, table: pd.DataFrame) -> None:
    conn.execute("delete from actions.response_rates where run_date = %s", (run_date,))
    with conn.cursor() as cur:
        cur.executemany(
            "insert into actions.response_rates (run_date, action_type, channel, segment, prior, trials, successes, "
            "posterior_mean) values (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (run_date, r.action_type, r.channel, r.segment, float(r.prior), int(r.trials), int(r.successes),
                 float(r.posterior_mean))
                for r in table.itertuples()
            ],
        )


def lookup(table: pd.DataFrame, frame: pd.DataFrame, channel: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate row: posterior probability, method and a short evidence text for ``channel``
    (NaN where the action type does not allow the channel)."""
    keyed = table[table["channel"] == channel].set_index(["action_type", "segment"])
    index = pd.MultiIndex.from_arrays([frame["action_type"], frame["segment"]])
    found = keyed.reindex(index)
    p = found["posterior_mean"].to_numpy(dtype=float)
    evidence = (
        found["successes"].fillna(0).astype(int).astype(str) + "/" + found["trials"].fillna(0).astype(int).astype(str)
    ).to_numpy()
    return p, found["method"].fillna("").to_numpy(), evidence


def expected_value(p: np.ndarray, value: np.ndarray, cost: float) -> np.ndarray:
    return p * value - cost
