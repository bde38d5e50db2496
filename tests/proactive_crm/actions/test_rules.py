"""Every rule of the contact policy, on candidate frames made by hand (no database): the decision and its reason."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from proactive_crm.actions import groups, priority, rules
from proactive_crm.actions.decide import evaluate
from proactive_crm.actions.policy import Policy

from .conftest import RUN_DATE, STORE_TZ, candidates


def decide(policy: Policy, frame: pd.DataFrame, run_date: date = RUN_DATE) -> pd.DataFrame:
    empty = pd.DataFrame(columns=["action_type", "channel", "segment", "trials", "successes"])
    rates = priority.response_table(policy, empty, sorted(set(frame["segment"])))
    return evaluate(frame, policy, rates, {}, run_date, STORE_TZ)


def treated_ids(policy: Policy, n: int, action_type: str = "churn_prevention") -> list[str]:
    """Customer ids outside the control group and the action type's holdout (so they can be selected)."""
    ids = [f"K{i:06d}" for i in range(n * 3)]
    control = groups.in_control_group(ids, policy.control_salt, policy.control_share)
    holdout = groups.in_holdout([action_type] * len(ids), ids, policy.holdout_salt, policy.holdout_share)
    return [i for i, c, h in zip(ids, control, holdout, strict=True) if not c and not h][:n]


def one(policy: Policy, **row) -> pd.Series:
    row.setdefault("customer_id", treated_ids(policy, 1, row.get("action_type", "churn_prevention"))[0])
    return decide(policy, candidates(row)).iloc[0]


# -- consent, addresses, suppressions ------------------------------------------------------------------------------

def test_without_any_consent_nothing_is_sent(policy) -> None:
    decision = one(policy, has_email_consent=False, has_sms_consent=False)
    assert decision["outcome"] == "suppressed" and decision["suppression_reason"] == "no_consent"
    assert "email: no consent" in decision["suppression_detail"]


def test_consent_is_per_channel(policy) -> None:
    decision = one(policy, has_email_consent=False, has_sms_consent=True)
    assert (decision["outcome"], decision["channel"]) == ("selected", "sms")
    assert decision["contact_address"] == "+4915112345678"
    decision = one(policy, has_email_consent=True, has_sms_consent=False)
    assert (decision["outcome"], decision["channel"]) == ("selected", "email")


@pytest.mark.parametrize("email", ["anna.muster@", "anna muster@example.de", "anna@example", "", None])
def test_an_invalid_or_missing_email_is_not_used(policy, email) -> None:
    decision = one(policy, email=email, has_sms_consent=False)
    assert decision["suppression_reason"] in ("invalid_contact_address", "no_contact_address")


@pytest.mark.parametrize("phone", ["015112345678", "+49 151 1234", "+0123456789", "+491"])
def test_sms_needs_an_e164_phone(policy, phone) -> None:
    decision = one(policy, phone=phone, has_email_consent=False)
    assert decision["suppression_reason"] == "invalid_contact_address"


@pytest.mark.parametrize("status", ["unsubscribed on 2026-10-01", "complained on 2026-10-02", "bounced on 2026-10-03"])
def test_an_unsubscribe_complaint_or_bounce_stops_that_channel_only(policy, status) -> None:
    decision = one(policy, suppressed_sms=status)
    assert decision["channel"] == "email" and decision["outcome"] == "selected"
    decision = one(policy, suppressed_sms=status, suppressed_email=status)
    assert decision["suppression_reason"] == "channel_suppressed"
    assert status in decision["suppression_detail"]


def test_only_high_value_customers_get_a_call_for_service_recovery(policy) -> None:
    base = {"action_type": "service_recovery", "trigger_code": "complaint", "base_value": 400.0}
    ids = treated_ids(policy, 2, "service_recovery")
    frame = candidates({**base, "customer_id": ids[0], "pareto_class": "pareto"},
                       {**base, "customer_id": ids[1], "pareto_class": "tail", "value_90d": 10.0})
    decisions = decide(policy, frame).set_index("customer_id")
    assert decisions.loc[ids[0], "channel"] == "call_center"
    assert decisions.loc[ids[1], "channel"] in ("email", "sms")
    assert decisions.loc[ids[0], "is_high_value"] and not decisions.loc[ids[1], "is_high_value"]


def test_call_centre_consent_is_the_phone_consent(policy) -> None:
    decision = one(policy, action_type="service_recovery", pareto_class="pareto", has_sms_consent=False)
    assert decision["channel"] == "email"


# -- frequency, cool-down, one per day -------------------------------------------------------------------------------

def test_frequency_cap_counts_the_previous_six_days(policy, policy_with) -> None:
    assert one(policy, contacts_7d=1)["outcome"] == "selected"
    assert one(policy, contacts_7d=2)["suppression_reason"] == "frequency_cap"
    looser = policy_with((("frequency", "max_contacts_per_7_days"), 3))
    assert one(looser, contacts_7d=2)["outcome"] == "selected"


def test_cool_down_per_action_type(policy) -> None:
    cool_down = policy.action_types["churn_prevention"].cool_down_days
    recent = RUN_DATE - timedelta(days=cool_down - 1)
    earlier = RUN_DATE - timedelta(days=cool_down)
    assert one(policy, last_same_type_date=recent)["suppression_reason"] == "cool_down"
    assert one(policy, last_same_type_date=earlier)["outcome"] == "selected"


def test_one_action_per_customer_per_day_the_most_valuable_wins(policy) -> None:
    cid = treated_ids(policy, 1, "churn_prevention")[0]
    frame = candidates({"customer_id": cid, "action_type": "churn_prevention", "base_value": 500.0},
                       {"customer_id": cid, "action_type": "win_back", "base_value": 100.0})
    decisions = decide(policy, frame).set_index("action_type")
    assert decisions.loc["churn_prevention", "outcome"] in ("selected", "holdout")
    assert decisions.loc["win_back", "suppression_reason"] == "one_action_per_day"


def test_service_recovery_pre_empts_a_more_valuable_action(policy) -> None:
    cid = treated_ids(policy, 1, "service_recovery")[0]
    frame = candidates({"customer_id": cid, "action_type": "churn_prevention", "base_value": 5000.0},
                       {"customer_id": cid, "action_type": "service_recovery", "base_value": 30.0,
                        "pareto_class": "tail", "value_90d": 5.0})
    decisions = decide(policy, frame).set_index("action_type")
    assert decisions.loc["service_recovery", "outcome"] == "selected"
    assert decisions.loc["churn_prevention", "suppression_reason"] == "preempted_by_service_recovery"


def test_a_contact_worth_less_than_it_costs_is_not_made(policy) -> None:
    decision = one(policy, action_type="cross_sell", base_value=0.5)
    assert decision["suppression_reason"] == "not_worth_contacting"


# -- capacity --------------------------------------------------------------------------------------------------------

def test_capacity_goes_to_the_highest_priorities_and_the_rest_fall_back(policy_with) -> None:
    policy = policy_with((("channels", "sms", "daily_capacity"), 2), (("channels", "email", "daily_capacity"), 1))
    ids = treated_ids(policy, 4)
    frame = candidates(*[{"customer_id": c, "base_value": 100.0 * (i + 1)} for i, c in enumerate(ids)])
    decisions = decide(policy, frame).set_index("customer_id")
    # sms (the better channel for churn prevention) keeps the two most valuable, email takes the next one
    assert list(decisions.loc[[ids[3], ids[2]], "channel"]) == ["sms", "sms"]
    assert decisions.loc[ids[1], "channel"] == "email" and decisions.loc[ids[1], "outcome"] == "selected"
    assert decisions.loc[ids[0], "suppression_reason"] == "capacity"
    assert list(decisions.loc[[ids[3], ids[2]], "priority_rank"]) == [1, 2]


def test_a_full_channel_never_falls_back_to_one_not_worth_the_contact() -> None:
    # The actions_loop benchmark's 17th night: SMS full, the fallback e-mail worth exactly the policy's minimum (0.0);
    # selecting it failed the actions gate (priority_range) and stopped the night.
    ev = np.array([[5.0, 0.0], [4.0, 0.5], [3.0, -1.0]])
    live = np.ones(3, dtype=bool)
    treated = np.ones(3, dtype=bool)
    assigned = rules.allocate_capacity(ev, live, treated, np.array(["a", "b", "c"]), [1, None], 0.0)
    assert list(assigned) == [0, 1, -1]


def test_control_and_holdout_customers_do_not_use_capacity() -> None:
    ev = np.array([[10.0], [9.0], [8.0], [7.0]])
    live = np.ones(4, dtype=bool)
    treated = np.array([False, True, False, True])
    assigned = rules.allocate_capacity(ev, live, treated, np.array(["a", "b", "c", "d"]), [1])
    # the untreated customer ahead of the only seat is placed (would-be), the treated one takes the seat,
    # and the untreated one behind the cut-off would not have been called either
    assert list(assigned) == [0, 0, -1, -1]


# -- control group and holdout ---------------------------------------------------------------------------------------

def test_the_control_group_is_never_contacted_but_logged(policy) -> None:
    ids = [f"G{i:06d}" for i in range(4000)]
    frame = candidates(*[{"customer_id": c} for c in ids])
    decisions = decide(policy, frame)
    control = groups.in_control_group(ids, policy.control_salt, policy.control_share)
    assert 0.035 < control.mean() < 0.065
    assert (decisions.loc[control, "outcome"] == "control_group").all()
    assert decisions.loc[control, "channel"].notna().all()  # the would-be action is kept
    assert decisions.loc[control, "send_after"].notna().all()
    holdout = decisions["outcome"] == "holdout"
    assert 0.08 < holdout.sum() / (~control).sum() < 0.12
    assert not (control & holdout.to_numpy()).any()


def test_holdout_membership_depends_on_the_action_type(policy) -> None:
    ids = [f"H{i:06d}" for i in range(2000)]
    a = groups.in_holdout(["win_back"] * len(ids), ids, policy.holdout_salt, policy.holdout_share)
    b = groups.in_holdout(["cross_sell"] * len(ids), ids, policy.holdout_salt, policy.holdout_share)
    assert a.sum() > 0 and b.sum() > 0 and (a != b).any()


# -- send windows ------------------------------------------------------------------------------------------------------

def _local(decision: pd.Series) -> datetime:
    return decision["send_after"].to_pydatetime().astimezone(ZoneInfo(decision["time_zone"]))


def test_send_after_is_the_preferred_hour_on_the_send_day(policy) -> None:
    local = _local(one(policy, preferred_contact_hour=18, time_zone="Europe/Vienna"))
    assert (local.date(), local.hour) == (RUN_DATE + timedelta(days=1), 18)


@pytest.mark.parametrize(("preferred", "expected"), [(6, 9), (23, 19), (None, 10)])
def test_quiet_hours_move_the_preferred_hour_into_the_window(policy, preferred, expected) -> None:
    assert _local(one(policy, preferred_contact_hour=preferred)).hour == expected


def test_the_call_centre_has_its_own_hours(policy) -> None:
    decision = one(policy, action_type="service_recovery", pareto_class="pareto", preferred_contact_hour=19)
    assert decision["channel"] == "call_center" and _local(decision).hour == 17


def test_a_slot_that_has_passed_at_decision_time_moves_forward(policy) -> None:
    decision = one(policy, preferred_contact_hour=9, time_zone="Asia/Tokyo")
    decided = datetime(2026, 11, 1, 2, tzinfo=ZoneInfo(STORE_TZ))
    assert decision["send_after"] >= decided + timedelta(hours=policy.lead_hours)
    assert 9 <= _local(decision).hour < 20
    assert decision["expires_at"] == decision["send_after"] + timedelta(hours=72)


def test_an_unknown_time_zone_falls_back_to_the_store_zone(policy) -> None:
    decision = one(policy, time_zone="Mars/Olympus_Mons", preferred_contact_hour=12)
    assert decision["time_zone"] == STORE_TZ and _local(decision).hour == 12


# -- ids, reasons, payload ---------------------------------------------------------------------------------------------

def test_action_ids_are_deterministic_and_unique_per_night(policy) -> None:
    frame = candidates(*[{"customer_id": f"D{i:04d}"} for i in range(50)])
    first, again = decide(policy, frame), decide(policy, frame)
    assert first["action_id"].is_unique and list(first["action_id"]) == list(again["action_id"])
    other_night = decide(policy, frame, RUN_DATE + timedelta(days=1))
    assert not set(first["action_id"]) & set(other_night["action_id"])


def test_the_reason_combines_trigger_model_and_ranking(policy) -> None:
    decision = one(policy, action_type="service_recovery", trigger_detail="open complaint of 2026-10-30",
                   churn_risk=0.8, churn_version="xgboost 2026-10-01", churn_reason="days_since_last_order up")
    assert decision["reason"].startswith("open complaint of 2026-10-30 | churn risk 0.80 (xgboost 2026-10-01)")
    assert "days_since_last_order up" in decision["reason"] and "prior only" in decision["reason"]
    assert decision["ranking_method"] == "beta_binomial_prior"


def test_every_candidate_gets_exactly_one_decision(policy) -> None:
    rows = [{"customer_id": f"E{i:04d}", "has_email_consent": i % 3 != 0, "contacts_7d": i % 4} for i in range(300)]
    decisions = decide(policy, candidates(*rows))
    assert len(decisions) == 300
    suppressed = decisions["outcome"] == "suppressed"
    assert decisions.loc[suppressed, "suppression_reason"].notna().all()
    assert decisions.loc[~suppressed, "suppression_reason"].isna().all()
