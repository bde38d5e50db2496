"""The callbacks wired into crm_nightly, through a real ``airflow dags test``: ops.run_log, ops.night_summary and
the failure alert posted to a webhook receiver started here."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta

import psycopg
import pytest

from deploy.receivers import WebhookReceiver
from devtools.local_airflow import dags_test
from proactive_crm.config import load_settings
from proactive_crm.landing.contract import SOURCES
from proactive_crm.run_summary import count_landing_rows

pytestmark = pytest.mark.integration

END = date(2026, 10, 31)
TASKS = {"ensure_roles", "ingest", "build_staging", "build_warehouse", "warehouse_gate", "score_customers",
         "decide_actions", "actions_gate", "publish_actions", "apply_retention", "dbt_docs", "nightly_report"}


@pytest.fixture(scope="module")
def night(empty_warehouse: str, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("runlog")
    landing = root / "landing"
    subprocess.run(
        [sys.executable, "-m", "devtools.synth", "--customers", "150", "--days", "20", "--seed", "5",
         "--out", str(landing), "--end-date", END.isoformat(), "--quiet"],
        check=True,
    )
    settings = load_settings({**os.environ, "CRM_LANDING_DIR": str(landing), "CRM_STATE_DIR": str(root / "state")})
    receiver = WebhookReceiver().__enter__()

    def run(day: date) -> tuple[int, str]:
        log = root / f"run_{day}.log"
        env = {"CRM_WAREHOUSE_URL": empty_warehouse, "CRM_MODELS_DIR": str(root / "models"),
               "CRM_ALERT_WEBHOOK_URL": receiver.url}
        code = dags_test("crm_nightly", day, settings, log, env_extra=env)
        return code, log.read_text()

    yield settings, run, receiver
    receiver.__exit__()


def test_a_good_night_logs_every_task_and_its_summary(night, empty_warehouse: str):
    settings, run, receiver = night
    code, log = run(END)
    assert code == 0, log[-3000:]
    with psycopg.connect(empty_warehouse) as conn:
        run_id = conn.execute("select run_id from ops.night_summary").fetchone()[0]
        tasks = conn.execute(
            "select task_id, count(*), bool_and(state = 'success'), bool_and(hostname is not null), "
            "bool_and(ended_at >= started_at), sum(rows_in), sum(rows_out) "
            "from ops.run_log where run_id = %s group by task_id",
            (run_id,),
        ).fetchall()
        summary = conn.execute(
            "select state, business_date, rows_loaded, rows_rejected, kpis, actions_published, stage_seconds, "
            "failed_tasks from ops.night_summary where run_id = %s",
            (run_id,),
        ).fetchone()
        gates = dict(conn.execute(
            "select task_id, gate_results from ops.run_log where run_id = %s and task_id like '%%gate'", (run_id,)
        ).fetchall())
        published = sum(
            conn.execute(f"select count(*) from actions.{t} where run_date = %s", (END,)).fetchone()[0]
            for t in ("outbound_email", "outbound_sms", "call_center_tasks")
        )
    by_task = {t[0]: t[1:] for t in tasks}
    assert set(by_task) == TASKS
    assert by_task["ingest"][0] == len(SOURCES)  # one row per mapped source
    assert all(ok and host and ordered for _, ok, host, ordered, _, _ in by_task.values())
    landed = sum(count_landing_rows(settings.landing_dir, END).values())
    state, day, loaded, rejected, kpis, actions, stages, failed = summary
    assert (state, day, failed) == ("success", END, [])
    assert by_task["ingest"][4] == landed == loaded + rejected and by_task["ingest"][5] == loaded
    assert kpis["month_to_date"]["count_customers"] > 0 and kpis["month_to_date"]["revenue"] > 0
    assert kpis["day"]["count_customers"] <= kpis["month_to_date"]["count_customers"]
    assert set(actions) == {"email", "sms", "call_center"} and sum(actions.values()) == published
    assert by_task["publish_actions"][5] == published
    assert set(stages) == TASKS and all(seconds > 0 for seconds in stages.values())
    assert gates["warehouse_gate"]["expectations"] > 0 and gates["actions_gate"]["expectations"] > 0
    assert receiver.received == []  # nothing failed, nothing alerted


def test_a_failed_task_posts_an_alert_and_the_night_is_summarised_as_failed(night, empty_warehouse: str):
    settings, run, receiver = night
    day = END + timedelta(days=1)
    bad = settings.landing_dir / "orders" / f"dt={day}" / "part-00000.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("order_id,customer_id\nO1,C1\n")
    code, log = run(day)
    assert code != 0
    [alert] = [m["json"] for m in receiver.received]
    assert alert["crm"]["task_id"] == "ingest" and alert["crm"]["business_date"] == day.isoformat()
    assert alert["text"].startswith("crm_nightly: task ingest failed")
    assert f"orders/dt={day}/part-00000.csv" in alert["text"]
    with psycopg.connect(empty_warehouse) as conn:
        state, failed = conn.execute(
            "select state, failed_tasks from ops.night_summary where business_date = %s", (day,)
        ).fetchone()
        failed_rows = conn.execute(
            "select count(*) from ops.run_log where business_date = %s and state = 'failed' and error like %s",
            (day, "%required column%"),
        ).fetchone()[0]
    assert state == "failed" and failed == ["ingest"] and failed_rows == 1
