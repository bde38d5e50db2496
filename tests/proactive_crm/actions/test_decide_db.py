"""The decision step against a real (tiny, hand-made) warehouse: cold start, re-runs, history across nights."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg

from proactive_crm.actions import groups
from proactive_crm.actions.decide import decide
from proactive_crm.actions.groups import bucket_sql

from .conftest import RUN_DATE, STORE_TZ, create_customers, customer


def decisions(conn: psycopg.Connection, run_date: date = RUN_DATE) -> dict[str, tuple]:
    rows = conn.execute(
        "select customer_id, action_type, outcome, suppression_reason, channel, action_id from actions.decisions "
        "where run_date = %s",
        (run_date,),
    ).fetchall()
    return {f"{r[0]}:{r[1]}": r[2:] for r in rows}


def test_cold_start_runs_and_says_why_nobody_is_contacted(db, policy) -> None:
    # only dim_customers exists: no orders, reviews, web sessions, scores or responses yet, and nobody consented
    create_customers(db, [customer(i, has_email_consent=False, has_sms_consent=False) for i in range(1, 41)])
    summary = decide(db, RUN_DATE, policy, STORE_TZ)
    assert summary.outcomes["selected"] == 0
    assert summary.suppressed == {"no_consent": summary.count_candidates} and summary.count_candidates > 0
    assert "suppressed, no consent: " in "\n".join(summary.lines())
    assert "skipped: core.fct_reviews" in summary.notes["service_recovery"]
    assert summary.notes["scores"].startswith("rules (ml.customer_scores does not exist")


def test_no_warehouse_at_all_is_not_a_crash(db, policy) -> None:
    summary = decide(db, RUN_DATE, policy, STORE_TZ)
    assert summary.count_candidates == 0 and "core.dim_customers does not exist" in summary.notes["all"]


def test_a_rerun_replaces_the_night_with_the_same_decisions_and_ids(db, policy) -> None:
    create_customers(db, [customer(i) for i in range(1, 61)])
    decide(db, RUN_DATE, policy, STORE_TZ)
    first = decisions(db)
    decide(db, RUN_DATE, policy, STORE_TZ)
    assert decisions(db) == first and len(first) == 60
    count = db.execute("select count(*) from actions.decisions").fetchone()[0]
    assert count == 60


def test_the_cool_down_and_frequency_cap_remember_earlier_nights(db, policy) -> None:
    create_customers(db, [customer(i) for i in range(1, 61)])
    first_night = RUN_DATE - timedelta(days=1)
    decide(db, first_night, policy, STORE_TZ)
    contacted = {k for k, v in decisions(db, first_night).items() if v[0] != "suppressed"}
    decide(db, RUN_DATE, policy, STORE_TZ)
    second = decisions(db)
    assert contacted
    for key in contacted:  # same customer and type the next night: inside its cool-down
        assert second[key][1] == "cool_down"


def test_responses_suppress_the_channel_they_came_from(db, policy) -> None:
    create_customers(db, [customer(i, phone=f"+4915100000{i:03d}", has_sms_consent=True) for i in range(1, 31)])
    db.execute("create schema staging")
    db.execute(
        "create table staging.stg_outbound__action_responses (response_id text, action_id text, customer_id text, "
        "channel text, response_status text, occurred_at timestamptz, occurred_date date)"
    )
    db.execute(
        "insert into staging.stg_outbound__action_responses values "
        "('r1', 'A1', 'C0000001', 'sms', 'unsubscribed', '2026-10-01T10:00:00Z', '2026-10-01'), "
        "('r2', 'A2', 'C0000002', 'email', 'complained', '2026-10-02T10:00:00Z', '2026-10-02'), "
        "('r3', 'A3', 'C0000003', 'email', 'bounced', '2026-10-03T10:00:00Z', '2026-10-03'), "
        "('r4', 'A3', 'C0000003', 'sms', 'bounced', '2026-10-03T10:00:00Z', '2026-10-03'), "
        "('r5', 'A4', 'C0000004', 'email', 'opened', '2026-10-03T10:00:00Z', '2026-10-03')"
    )
    decide(db, RUN_DATE, policy, STORE_TZ)
    by_customer = {k.split(":")[0]: v for k, v in decisions(db).items()}
    assert by_customer["C0000001"][2] != "sms"
    assert by_customer["C0000002"][2] != "email"
    assert by_customer["C0000003"][1] == "channel_suppressed"
    assert by_customer["C0000004"][1] is None  # an open suppresses nothing


def test_control_group_hash_is_the_same_in_sql(db, policy) -> None:
    ids = [f"C{i:07d}" for i in range(1, 501)]
    sql = bucket_sql(policy.control_salt, "c.id")
    rows = db.execute(f"select c.id, {sql} from unnest(%s::text[]) as c(id) order by c.id", (ids,)).fetchall()
    python = groups.buckets(policy.control_salt, [r[0] for r in rows])
    assert [round(float(r[1]), 12) for r in rows] == [round(float(v), 12) for v in python]
    assert groups.bucket(policy.control_salt, ids[0]) == python[0]


def test_special_dates_and_win_back_come_from_the_customer_record(db, policy) -> None:
    create_customers(db, [
        customer(1, birth_date=date(1980, 11, 1), lifecycle_status="active", days_since_last_order=10),
        customer(2, first_order_date=date(2024, 11, 1), lifecycle_status="active", days_since_last_order=10),
        customer(3, lifecycle_status="lapsed", days_since_last_order=300, total_revenue=900),
        customer(4, lifecycle_status="lapsed", days_since_last_order=300, total_revenue=20),
    ])
    decide(db, RUN_DATE, policy, STORE_TZ)
    rows = db.execute("select customer_id, action_type, trigger_code from actions.decisions").fetchall()
    found = {(r[0], r[1], r[2]) for r in rows}
    assert ("C0000001", "special_date", "birthday") in found
    assert ("C0000002", "special_date", "first_order_anniversary") in found
    assert ("C0000003", "win_back", "lapsed") in found
    assert not any(r[0] == "C0000004" and r[1] == "win_back" for r in rows)


def test_ml_scores_and_their_reason_codes_are_used_where_they_exist(db, policy) -> None:
    create_customers(db, [customer(i) for i in range(1, 11)])
    db.execute("create schema ml")
    db.execute(
        "create table ml.customer_scores (customer_id text, as_of_date date, model text, model_version text, "
        "method text, is_fallback boolean, score double precision, p_order_14d double precision, "
        "p_order_30d double precision, reason_1 text, reason_2 text, reason_3 text, scored_at timestamptz)"
    )
    as_of = RUN_DATE + timedelta(days=1)
    db.execute(
        "insert into ml.customer_scores values "
        "('C0000001', %(d)s, 'churn_risk', '2026-10-01.3', 'xgboost', false, 0.93, null, null, "
        "'days_since_last_order', 'complaints_90d', null, now()), "
        "('C0000001', %(d)s, 'value_90d', '2026-10-01.3', 'xgboost', false, 120.0, null, null, "
        "'revenue_prev_90d', null, null, now()), "
        "('C0000002', %(d)s - 30, 'churn_risk', 'old', 'xgboost', false, 0.99, null, null, null, null, null, now())",
        {"d": as_of},
    )
    summary = decide(db, RUN_DATE, policy, STORE_TZ)
    assert summary.notes["scores"] == f"ml.customer_scores as of {as_of}"
    scored = db.execute(
        "select churn_risk, value_90d, reason, model_versions ->> 'churn_risk' from actions.decisions "
        "where customer_id = 'C0000001' and action_type = 'churn_prevention'"
    ).fetchone()
    assert scored[0] == 0.93 and float(scored[1]) == 120.0
    assert "churn risk 0.93 (xgboost 2026-10-01.3): days_since_last_order, complaints_90d" in scored[2]
    assert scored[3] == "xgboost 2026-10-01.3"
    unscored = db.execute(
        "select model_versions ->> 'churn_risk' from actions.decisions where customer_id = 'C0000002' limit 1"
    ).fetchone()
    assert unscored[0] == "rules"  # only the latest as-of date counts; older scores are not reused
