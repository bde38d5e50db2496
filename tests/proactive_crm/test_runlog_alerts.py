"""The run log in the warehouse (ops.run_log, ops.night_summary), the alert channels and the deadline check."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from deploy.receivers import SmtpSink, WebhookReceiver
from proactive_crm.alerts import AlertDeliveryError, send_alert
from proactive_crm.deployment import heavy_queue, night_deadline, task_defaults, warehouse_pool
from proactive_crm.runlog import TaskRecord, check_deadline, record_night, record_task, rows_in_out

DAY = date(2026, 10, 31)
T0 = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)


def record(task_id: str, state: str, start: int, end: int, **kwargs) -> TaskRecord:
    return TaskRecord(dag_id="crm_nightly", run_id="run-1", task_id=task_id, map_index=kwargs.pop("map_index", -1),
                      try_number=kwargs.pop("try_number", 1), state=state, business_date=DAY,
                      started_at=T0 + timedelta(seconds=start), ended_at=T0 + timedelta(seconds=end), **kwargs)


def test_webhook_alert_is_slack_compatible_json():
    with WebhookReceiver() as hook:
        sent = send_alert("crm_nightly: task ingest failed", "orders/dt=2026-11-01 is unreadable",
                          {"task_id": "ingest", "try_number": 1}, env={"CRM_ALERT_WEBHOOK_URL": hook.url})
    assert sent == ["webhook"]
    [message] = hook.received
    assert message["content_type"] == "application/json" and message["path"] == "/hooks/crm"
    body = message["json"]
    assert body["text"].startswith("crm_nightly: task ingest failed\norders/dt=2026-11-01")
    assert body["blocks"][0]["type"] == "header"
    assert body["crm"]["task_id"] == "ingest" and body["crm"]["try_number"] == 1


def test_email_alert_reaches_the_smtp_server():
    with SmtpSink() as smtp:
        sent = send_alert("night late", "not finished by 07:00", {"business_date": "2026-10-31"},
                          env={"CRM_ALERT_EMAIL_TO": "ops@example.com, data@example.com", "CRM_SMTP_URL": smtp.url})
    assert sent == ["email"]
    [mail] = smtp.messages
    assert mail["Subject"] == "night late" and mail["To"] == "ops@example.com, data@example.com"
    assert "business_date: 2026-10-31" in mail.get_payload()


def test_a_refused_alert_raises_and_an_unconfigured_one_sends_nothing():
    with WebhookReceiver(status=500) as hook, pytest.raises(AlertDeliveryError, match="CRM_ALERT_WEBHOOK_URL"):
        send_alert("t", "x", env={"CRM_ALERT_WEBHOOK_URL": hook.url})
    assert send_alert("t", "x", env={}) == []


def test_rows_in_and_out_come_from_what_the_task_returned():
    assert rows_in_out({"rows_read": 10, "rows_loaded": 8, "rows_rejected": 2}) == (10, 8)
    assert rows_in_out({"published": {"email": 3, "sms": 1, "call_center": 0}}) == (None, 4)
    assert rows_in_out({"candidates": 50, "selected_by_channel": {"email": 5}}) == (50, 5)
    assert rows_in_out(None) == (None, None)



@pytest.fixture(scope="module", autouse=True)
def no_earlier_night(empty_warehouse: str) -> str:
    """The night summary reads kpi.* and actions.*: a whole-night module that ran earlier on this worker (make test
    runs those first) must not leave its marts for these figures."""
    return empty_warehouse


def test_task_rows_are_upserted_and_the_night_summary_adds_them_up(conn: psycopg.Connection):
    # The summary's publication figures come from actions.*: an earlier module on this worker may have left a
    # published night there, and this run published nothing.
    conn.execute("drop schema if exists actions cascade")
    record_task(conn, record("ingest", "success", 0, 4, map_index=0, hostname="w1",
                             result={"rows_read": 10, "rows_loaded": 9, "quality_warnings": 1}))
    record_task(conn, record("ingest", "success", 1, 6, map_index=1, hostname="w2",
                             result={"rows_read": 5, "rows_loaded": 5}))
    record_task(conn, record("build_warehouse", "up_for_retry", 6, 9, hostname="w1", error="killed"))
    record_task(conn, record("build_warehouse", "success", 20, 30, try_number=2, hostname="w2"))
    record_task(conn, record("build_warehouse", "success", 20, 30, try_number=2, hostname="w2"))  # callback twice
    rows = conn.execute(
        "select task_id, map_index, try_number, state, hostname, rows_in, rows_out, gate_results, duration_seconds "
        "from ops.run_log order by task_id, map_index, try_number"
    ).fetchall()
    assert rows == [
        ("build_warehouse", -1, 1, "up_for_retry", "w1", None, None, None, 3.0),
        ("build_warehouse", -1, 2, "success", "w2", None, None, None, 10.0),
        ("ingest", 0, 1, "success", "w1", 10, 9, {"quality_warnings": 1}, 4.0),
        ("ingest", 1, 1, "success", "w2", 5, 5, None, 5.0),
    ]

    summary = record_night(conn, "crm_nightly", "run-1", "success", DAY, T0, T0 + timedelta(seconds=31))
    assert summary["stage_seconds"] == {"ingest": 6.0, "build_warehouse": 24.0}
    assert summary["duration_seconds"] == 31.0 and summary["failed_tasks"] == []
    # No raw schema in this database: nothing was loaded by this run, and the summary says so instead of failing.
    assert summary["rows_loaded"] is None and summary["actions_published"] is None
    stored = conn.execute("select state, stage_seconds from ops.night_summary where run_id = 'run-1'").fetchall()
    assert stored == [("success", {"ingest": 6.0, "build_warehouse": 24.0})]


def test_night_summary_counts_the_rows_this_run_loaded(conn: psycopg.Connection):
    from proactive_crm.landing.contract import SOURCES
    from proactive_crm.landing.raw_tables import ensure_raw_schema

    ensure_raw_schema(conn, list(SOURCES.values()))
    conn.execute(
        "insert into raw.load_audit (run_id, source, partition_date, source_file, rows_read, rows_loaded, "
        "rows_rejected, status, started_at) values "
        "('run-1', 'orders', %(d)s, 'a.csv', 12, 10, 2, 'loaded', now()), "
        "('run-1', 'customers', %(d)s, 'b.csv', 3, 3, 0, 'loaded', now()), "
        "('run-0', 'orders', %(d)s, 'old.csv', 99, 99, 0, 'loaded', now()), "
        "('run-1', 'orders', %(d)s, 'bad.csv', null, null, null, 'failed', now())",
        {"d": DAY},
    )
    summary = record_night(conn, "crm_nightly", "run-1", "failed", DAY, T0, None)
    assert (summary["rows_loaded"], summary["rows_rejected"]) == (13, 2)
    assert summary["duration_seconds"] is None


def test_deadline_check_alerts_only_when_the_night_has_not_succeeded(conn: psycopg.Connection, warehouse: str):
    with WebhookReceiver() as hook:
        env = {"CRM_ALERT_WEBHOOK_URL": hook.url}
        with pytest.MonkeyPatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            late = check_deadline("crm_nightly", DAY, "07:00")
            record_night(conn, "crm_nightly", "run-1", "failed", DAY, T0, T0)
            still_late = check_deadline("crm_nightly", DAY, "07:00")
            record_night(conn, "crm_nightly", "run-2", "success", DAY, T0, T0)
            on_time = check_deadline("crm_nightly", DAY, "07:00")
    assert late["finished"] is False and late["alerted"] == ["webhook"]
    assert still_late["alerted"] == ["webhook"] and on_time == {"business_date": "2026-10-31", "finished": True,
                                                                "alerted": []}
    assert [m["json"]["crm"]["deadline"] for m in hook.received] == ["07:00", "07:00"]
    assert "has not finished by 07:00" in hook.received[0]["json"]["text"]


def test_deployment_settings_from_the_environment():
    assert warehouse_pool({}) == "default_pool" and warehouse_pool({"CRM_WAREHOUSE_POOL": "crm_warehouse"}) == (
        "crm_warehouse")
    assert heavy_queue({"CRM_HEAVY_QUEUE": "heavy"}) == "heavy"
    defaults = task_defaults(2, {"CRM_TASK_RETRIES": "3", "CRM_RETRY_DELAY_SECONDS": "5"})
    assert defaults["retries"] == 3 and defaults["retry_delay"] == timedelta(seconds=5)
    assert {"on_success_callback", "on_failure_callback", "on_retry_callback"} <= set(defaults)
    assert night_deadline({"CRM_NIGHT_DEADLINE": "6:30"}) == (6, 30)
    with pytest.raises(ValueError, match="HH:MM"):
        night_deadline({"CRM_NIGHT_DEADLINE": "25:00"})
