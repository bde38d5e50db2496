"""Gate 3 (expectations/actions.py) on a real batch: a clean night passes, a broken one names every broken rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from expectations.actions_gate import run_actions_gate
from expectations.outcome import QualityGateError
from proactive_crm.actions import groups, publish
from proactive_crm.actions.decide import decide
from proactive_crm.config import load_settings

from .conftest import RUN_DATE, STORE_TZ, create_customers, customer


@pytest.fixture
def night(db, policy, tmp_path: Path):
    rows = [customer(i, phone=f"+4917000{i:05d}", has_sms_consent=i % 3 == 0) for i in range(1, 301)]
    create_customers(db, rows)
    decide(db, RUN_DATE, policy, STORE_TZ)
    settings = load_settings({**os.environ, "CRM_STATE_DIR": str(tmp_path / "state")})
    return db, settings


def failed_checks(conn) -> set[str]:
    rows = conn.execute(
        "select check_name from quality.validation_results where gate = 'actions' and run_date = %s "
        "and success = false and severity = 'critical'",
        (RUN_DATE,),
    ).fetchall()
    return {r[0] for r in rows}


def test_a_clean_night_passes_and_can_be_published(night, policy, tmp_path: Path) -> None:
    conn, settings = night
    outcome = run_actions_gate(conn, RUN_DATE, settings, policy)
    assert outcome.evaluated >= 10 and not outcome.failed_critical
    result = publish.publish(conn, RUN_DATE, tmp_path / "outbox")  # the gate passed: allowed
    assert sum(result.counts.values()) > 0


def test_a_broken_batch_fails_every_rule_it_breaks_and_is_not_published(night, policy, tmp_path: Path) -> None:
    conn, settings = night
    selected = conn.execute(
        "select customer_id, action_type from actions.decisions where run_date = %s and outcome = 'selected' "
        "and channel = 'email' order by priority_rank limit 6", (RUN_DATE,)
    ).fetchall()
    control = next(f"C{i:07d}" for i in range(1, 301)
                   if groups.in_control_group([f"C{i:07d}"], policy.control_salt, policy.control_share)[0])
    first, second, third, fourth, fifth, sixth = selected

    def change(row, assignment: str, *params) -> None:
        conn.execute(f"update actions.decisions set {assignment} where run_date = %s and customer_id = %s "
                     "and action_type = %s", (*params, RUN_DATE, *row))

    conn.execute("update core.dim_customers set has_email_consent = false where customer_id = %s", (first[0],))
    change(second, "contact_address = 'not-an-address'")
    change(third, "send_after = timestamptz '2026-11-01 02:30:00+00'")  # 03:30 in Berlin: quiet hours
    change(fourth, "priority_rank = 1")  # a tie at the top
    conn.execute("update actions.decisions set outcome = 'selected', suppression_reason = null, channel = 'email', "
                 "priority_rank = 999 where run_date = %s and customer_id = %s", (RUN_DATE, control))
    change(fifth, "expected_value = -1")
    conn.execute(
        "insert into actions.decisions select run_date - 1, as_of_date - 1, customer_id, 'win_back', trigger_code, "
        "trigger_detail, trigger_date, segment, pareto_class, is_high_value, value_at_stake, churn_risk, value_90d, "
        "days_since_last_order, count_orders, total_revenue, channel, p_response, uplift, expected_value, "
        "ranking_method, outcome, suppression_reason, suppression_detail, priority_rank, action_id || 'x', "
        "contact_address, time_zone, template_id, personalisation, send_after, expires_at, reason, model_versions, "
        "window_days, policy_version, decided_at from actions.decisions where run_date = %s and customer_id = %s "
        "and action_type = %s", (RUN_DATE, *sixth)
    )
    conn.execute(
        "insert into actions.decisions select run_date - 2, as_of_date - 2, customer_id, 'cross_sell', trigger_code, "
        "trigger_detail, trigger_date, segment, pareto_class, is_high_value, value_at_stake, churn_risk, value_90d, "
        "days_since_last_order, count_orders, total_revenue, channel, p_response, uplift, expected_value, "
        "ranking_method, outcome, suppression_reason, suppression_detail, priority_rank, action_id || 'y', "
        "contact_address, time_zone, template_id, personalisation, send_after, expires_at, reason, model_versions, "
        "window_days, policy_version, decided_at from actions.decisions where run_date = %s and customer_id = %s "
        "and action_type = %s", (RUN_DATE, *sixth)
    )  # with tonight's action: 3 contacts in 7 days
    with pytest.raises(QualityGateError) as error:
        run_actions_gate(conn, RUN_DATE, settings, policy)
    assert failed_checks(conn) >= {"consent", "valid_address", "send_window", "priority_range", "control_group",
                                   "contact_cap"}
    assert "nothing is published" in str(error.value)
    with pytest.raises(publish.PublishError, match="actions gate failed"):
        publish.publish(conn, RUN_DATE, tmp_path / "outbox")
    assert not (tmp_path / "outbox").exists()


def test_an_empty_night_passes_with_a_warning_and_publishes_empty_files(db, policy, tmp_path: Path) -> None:
    create_customers(db, [customer(i, has_email_consent=False) for i in range(1, 21)])  # nobody consented
    summary = decide(db, RUN_DATE, policy, STORE_TZ)
    assert summary.outcomes["selected"] == 0 and summary.suppressed["no_consent"] > 0
    settings = load_settings({**os.environ, "CRM_STATE_DIR": str(tmp_path / "state")})
    outcome = run_actions_gate(db, RUN_DATE, settings, policy)
    assert [f.check for f in outcome.failed_warning] == ["has_actions"] and not outcome.failed_critical
    result = publish.publish(db, RUN_DATE, tmp_path / "outbox")
    assert result.counts == {"email": 0, "sms": 0, "call_center": 0}
    assert (tmp_path / "outbox" / "email" / f"dt={RUN_DATE}" / "_manifest.json").exists()
