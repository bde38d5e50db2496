"""crm_nightly end to end with ``airflow dags test`` on a small generated retailer with injected defects.

One generated sample, one test database, one Airflow home: the runs below happen in order, as nights would. The
first night runs every task; it is also the good night whose run log (``ops.run_log``, ``ops.night_summary``) the
callbacks must write, and the night with an unreadable file the failed one that posts an alert to the webhook
receiver started here (the callbacks' checks share these nights instead of running two nights of their own).

The first night's HTML report and dbt docs are checked first, before a later night changes the marts they show:
the report opened in headless Chromium (Debian's, driven by Playwright) must show no console error and make no
request at all (the file is self-contained), draw every chart as SVG with data marks and show the headline KPIs of
the KPI mart; MetricFlow must give the mart's figures. A full-page screenshot is saved in the test's folder. (These
checks had a night of their own, tests/integration/test_nightly_report.py: one whole night more per suite.)
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from deploy.receivers import WebhookReceiver
from devtools.local_airflow import REPORTING_TASKS, dags_test
from proactive_crm.config import Settings, load_settings
from proactive_crm.landing.contract import SOURCES
from proactive_crm.landing.discovery import discover
from proactive_crm.landing.raw_tables import rejected_relation
from proactive_crm.nightly_report import KPI_COLUMNS, report_path
from proactive_crm.run_summary import count_landing_rows

pytestmark = pytest.mark.integration

END = date(2026, 10, 31)
FIRST_NIGHT = END - timedelta(days=2)  # END - 1 is then missed, and caught up by the night of END
TASKS = {
    "ensure_roles",
    "ingest",
    "build_staging",
    "build_warehouse",
    "warehouse_gate",
    "score_customers",
    "decide_actions",
    "actions_gate",
    "publish_actions",
    "apply_retention",
    "dbt_docs",
    "nightly_report",
}


@dataclass
class Nights:
    settings: Settings
    run: Callable[[date], tuple[int, str]]
    receiver: WebhookReceiver
    first_night: tuple[int, str]  # exit code and log of the night of FIRST_NIGHT, which runs every task


@pytest.fixture(scope="module")
def nightly(empty_warehouse: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nights]:
    root = tmp_path_factory.mktemp("nightly")
    landing = root / "landing"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.synth",
            "--customers",
            "400",
            "--days",
            "120",
            "--seed",
            "7",
            "--out",
            str(landing),
            "--end-date",
            END.isoformat(),
            "--dirty",
            "--quiet",
        ],
        check=True,
    )
    settings = load_settings({**os.environ, "CRM_LANDING_DIR": str(landing), "CRM_STATE_DIR": str(root / "state")})

    nights: list[date] = []

    with WebhookReceiver() as receiver:

        def run(day: date) -> tuple[int, str]:
            log = root / f"run_{day}_{len(nights)}.log"
            # An empty model registry: a developer's trained models must not change what this night does.
            env = {
                "CRM_WAREHOUSE_URL": empty_warehouse,
                "CRM_MODELS_DIR": str(root / "models"),
                "CRM_ALERT_WEBHOOK_URL": receiver.url,
            }
            # The first night runs every task; later ones leave out the docs and the report, which the first
            # night's run log covers.
            skip = REPORTING_TASKS if nights else ()
            nights.append(day)
            code = dags_test("crm_nightly", day, settings, log, env_extra=env, skip=skip)
            return code, log.read_text()

        first_night = run(FIRST_NIGHT)
        yield Nights(settings, run, receiver, first_night)


@pytest.fixture(scope="module")
def night(nightly: Nights, warehouse: str) -> dict:
    """The first night's report and docs, read before the later nights of this module rebuild the marts."""
    code, log = nightly.first_night
    assert code == 0, f"crm_nightly failed:\n{log[-3000:]}"
    return {"settings": nightly.settings, "url": warehouse, "report": report_path(nightly.settings, FIRST_NIGHT)}


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium is not installed: run scripts/ensure_chromium.sh (as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_the_night_writes_the_report_and_the_dbt_docs(night: dict) -> None:
    report = night["report"]
    assert report.exists(), f"no report at {report}"
    html = report.read_text(encoding="utf-8")
    # Self-contained: no script, style or image is fetched from anywhere.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=\"(https?:)?//", html)
    docs = night["settings"].state_dir / "dbt_docs" / "index.html"
    assert docs.exists(), "dbt docs were not generated into the state folder"
    assert 'href="../dbt_docs/index.html"' in html
    manifest = (docs.parent / "manifest.json").read_text(encoding="utf-8")
    for exposure in ("nightly_report", "bi_semantic_layer", "email_system", "sms_gateway", "call_center"):
        assert f"exposure.proactive_crm.{exposure}" in manifest


def test_the_docs_are_kept_while_nothing_they_show_changed(night: dict, tmp_path: Path) -> None:
    from proactive_crm.nightly_report.docs import generate_docs

    settings, url = night["settings"], night["url"]
    docs = settings.state_dir / "dbt_docs" / "index.html"
    written = docs.stat().st_mtime_ns
    assert generate_docs(FIRST_NIGHT, settings, url) == docs
    assert docs.stat().st_mtime_ns == written, "unchanged project and warehouse: the docs must not be rebuilt"

    # Another pipeline configuration (it sets dbt vars) is another fingerprint: the docs are generated again.
    config = tmp_path / "pipeline.yml"
    config.write_text(settings.config_path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    changed = load_settings(
        {
            **os.environ,
            "CRM_CONFIG": str(config),
            "CRM_LANDING_DIR": str(settings.landing_dir),
            "CRM_STATE_DIR": str(settings.state_dir),
        }
    )
    assert generate_docs(FIRST_NIGHT, changed, url) == docs
    assert docs.stat().st_mtime_ns > written


def _number(text: str) -> float:
    """The number in a KPI tile: '12,345.67 EUR' -> 12345.67, '41.2%' -> 0.412, '1,234' -> 1234."""
    match = re.search(r"-?[\d,]+(\.\d+)?%?", text)
    assert match, f"no number in {text!r}"
    raw = match.group(0)
    value = float(raw.rstrip("%").replace(",", ""))
    return value / 100 if raw.endswith("%") else value


def open_in_chromium(report: Path, screenshot: Path) -> tuple[list[str], list, dict[str, str]]:
    """Open the report; return (console errors, failed and outgoing requests), per chart [id, rendered, svgs, marks],
    and the KPI tiles' texts. Saves a full-page screenshot."""
    from playwright.sync_api import sync_playwright

    executable = chromium()
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url} {r.failure}"))

        def only_the_file(route):  # any request beyond the report itself would fail offline
            if route.request.url == report.as_uri():
                return route.continue_()
            errors.append(f"unexpected request: {route.request.url}")
            return route.abort()

        page.route("**/*", only_the_file)
        page.goto(report.as_uri(), wait_until="load")
        page.wait_for_function(
            "() => [...document.querySelectorAll('div.chart')].every(c => c.dataset.rendered)",
            timeout=60_000,
        )
        marks = page.evaluate(
            "() => [...document.querySelectorAll('div.chart')].map(c => [c.id, c.dataset.rendered, "
            "c.querySelectorAll('svg').length, c.querySelectorAll('svg .role-mark > *').length])"
        )
        tiles = page.evaluate(
            "() => Object.fromEntries([...document.querySelectorAll('.kpi')].map(k => "
            "[k.dataset.kpi, k.querySelector('.kpi-value').textContent]))"
        )
        page.screenshot(path=str(screenshot), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing may stick out sideways
        page.wait_for_timeout(500)  # the charts follow their containers' width on resize
        phone_width = page.evaluate("() => document.documentElement.scrollWidth")
        browser.close()
    if phone_width > 390:
        errors.append(f"on a 390 px wide phone screen the page is {phone_width} px wide")
    return errors, marks, tiles


def test_the_report_renders_in_chromium_with_the_marts_numbers(night: dict, tmp_path: Path) -> None:
    screenshot = tmp_path / "nightly_report.png"
    errors, marks, tiles = open_in_chromium(night["report"], screenshot)
    assert len(marks) >= 12, f"only {len(marks)} charts in the report"
    assert not errors, "\n".join(errors)
    blank = [chart_id for chart_id, rendered, svgs, drawn in marks if rendered != "true" or not svgs or not drawn]
    assert not blank, f"charts without SVG data marks: {blank}"
    assert screenshot.stat().st_size > 50_000

    with psycopg.connect(night["url"]) as conn:
        row = conn.execute(
            f"select {', '.join(KPI_COLUMNS)} from kpi.kpi_customer_health_monthly "
            "where dimension = 'overall' and period_start = %s",
            (FIRST_NIGHT.replace(day=1),),
        ).fetchone()
    assert row is not None
    assert set(tiles) == set(KPI_COLUMNS)
    for column, expected in zip(KPI_COLUMNS, row, strict=True):
        assert expected is not None, f"{column} is null in the mart for this night"
        shown = _number(tiles[column])
        tolerance = 0.0005 if "rate" in column or "share" in column else 0.005
        assert abs(shown - float(expected)) <= tolerance, f"{column}: report shows {tiles[column]}, mart {expected}"


def test_metricflow_revenue_and_retention_by_month_equal_the_kpi_mart(night: dict, tmp_path: Path) -> None:
    """The semantic layer (dbt_project/models/semantic/) queried through MetricFlow gives the KPI mart's numbers."""
    import csv

    from proactive_crm.semantic_layer import metricflow

    out = tmp_path / "mf.csv"
    args = [
        "query",
        "--metrics",
        "revenue,retention_rate,average_order_value",
        "--group-by",
        "metric_time__month",
        "--order",
        "metric_time__month",
        "--csv",
        str(out),
    ]
    completed = metricflow(args, night["url"], night["settings"], capture=True)
    assert completed.returncode == 0 and out.exists(), f"mf query failed:\n{completed.stdout[-3000:]}"
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    queried = {row["metric_time__month"][:10]: row for row in rows}
    with psycopg.connect(night["url"]) as conn:
        mart = conn.execute(
            "select period_start, revenue, retention_rate, average_order_value from kpi.kpi_customer_health_monthly "
            "where dimension = 'overall' order by period_start"
        ).fetchall()
    assert len(mart) >= 4
    for period_start, revenue, retention, aov in mart:
        row = queried.get(period_start.isoformat())
        assert row is not None, f"MetricFlow returned no row for {period_start}: {sorted(queried)}"
        assert float(row["revenue"] or 0) == pytest.approx(float(revenue or 0), abs=0.005), period_start
        if retention is None:
            assert row["retention_rate"] in ("", None), period_start
        else:
            assert float(row["retention_rate"]) == pytest.approx(retention, abs=1e-9), period_start
        if aov is not None:
            assert float(row["average_order_value"]) == pytest.approx(aov, rel=1e-9), period_start


def accounting(url: str) -> dict[str, tuple[int, int, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select source, sum(rows_read), sum(rows_loaded), sum(rows_rejected) from raw.load_audit "
            "where status = 'loaded' and superseded_by is null group by source"
        ).fetchall()
    return {source: (int(read), int(loaded), int(rejected)) for source, read, loaded, rejected in rows}


def expected_rejections(landing: Path, up_to: date) -> set[tuple[str, int]]:
    with (landing / "_truth" / "defects.csv").open() as handle:
        return {
            (row["file"], int(row["line_number"]))
            for row in csv.DictReader(handle)
            if row["expect_rejected"] == "true" and date.fromisoformat(row["partition_date"]) <= up_to
        }


def test_missed_nights_are_caught_up_and_every_row_is_accounted_for(nightly: Nights, warehouse: str):
    settings, run, first_day = nightly.settings, nightly.run, FIRST_NIGHT
    code, log = nightly.first_night
    assert code == 0, log[-3000:]
    assert accounting(warehouse)["orders"][0] == count_landing_rows(settings.landing_dir, first_day)["orders"]

    code, log = run(END)  # the night of END - 1 was missed: this run loads both remaining days
    assert code == 0, log[-3000:]
    in_files = count_landing_rows(settings.landing_dir, END)
    loaded = accounting(warehouse)
    assert set(loaded) == set(in_files)
    for source, (read, ok, rejected) in loaded.items():
        assert read == in_files[source] == ok + rejected, source

    with psycopg.connect(warehouse) as conn:
        union = " union all ".join(f"select _source_file, _line_number from {rejected_relation(s)}" for s in SOURCES)
        rejected_rows = set(conn.execute(union).fetchall())
        late_partitions = conn.execute(
            "select count(*) from raw.load_audit where partition_date > %s", (first_day,)
        ).fetchone()[0]
        staged = dict(
            conn.execute(
                "select 'orders', count(*) from staging.stg_shop__orders union all "
                "select 'events', count(*) from staging.stg_web__events"
            ).fetchall()
        )
    assert rejected_rows == expected_rejections(settings.landing_dir, END)
    missed_files = [
        f
        for source in SOURCES.values()
        for f in discover(settings.landing_dir, source, END)
        if f.partition_date > first_day
    ]
    assert missed_files and late_partitions == len(missed_files)
    assert staged["orders"] > 0 and staged["events"] > 0


def test_a_good_night_logs_every_task_and_its_summary(nightly: Nights, warehouse: str):
    code, log = nightly.first_night
    assert code == 0, log[-3000:]
    with psycopg.connect(warehouse) as conn:
        run_id = conn.execute(
            "select run_id from ops.night_summary where business_date = %s", (FIRST_NIGHT,)
        ).fetchone()[0]
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
        gates = dict(
            conn.execute(
                "select task_id, gate_results from ops.run_log where run_id = %s and task_id like '%%gate'", (run_id,)
            ).fetchall()
        )
        published = sum(
            conn.execute(f"select count(*) from actions.{t} where run_date = %s", (FIRST_NIGHT,)).fetchone()[0]
            for t in ("outbound_email", "outbound_sms", "call_center_tasks")
        )
    by_task = {t[0]: t[1:] for t in tasks}
    assert set(by_task) == TASKS
    assert by_task["ingest"][0] == len(SOURCES)  # one row per mapped source
    assert all(ok and host and ordered for _, ok, host, ordered, _, _ in by_task.values())
    landed = sum(count_landing_rows(nightly.settings.landing_dir, FIRST_NIGHT).values())
    state, day, loaded, rejected, kpis, actions, stages, failed = summary
    assert (state, day, failed) == ("success", FIRST_NIGHT, [])
    assert rejected > 0  # the injected defects: rejected rows count as landed, not as lost
    assert by_task["ingest"][4] == landed == loaded + rejected and by_task["ingest"][5] == loaded
    assert kpis["month_to_date"]["count_customers"] > 0 and kpis["month_to_date"]["revenue"] > 0
    assert kpis["day"]["count_customers"] <= kpis["month_to_date"]["count_customers"]
    assert set(actions) == {"email", "sms", "call_center"} and sum(actions.values()) == published
    assert by_task["publish_actions"][5] == published
    assert set(stages) == TASKS and all(seconds > 0 for seconds in stages.values())
    assert gates["warehouse_gate"]["expectations"] > 0 and gates["actions_gate"]["expectations"] > 0
    # The task log's one readable line (the whole record is the row read above), not a dict's repr
    assert (
        f"night summary (ops.run_log): crm_nightly success for {FIRST_NIGHT} in " in log
        and f"rows loaded {loaded:,}, rejected {rejected:,}; actions published email {actions['email']:,}" in log
    ), log[-3000:]


def test_rerunning_a_night_changes_nothing(nightly: Nights, warehouse: str):
    run = nightly.run
    before = accounting(warehouse)
    with psycopg.connect(warehouse) as conn:
        loads_before = conn.execute("select count(*) from raw.load_audit").fetchone()[0]
    code, log = run(END)
    assert code == 0, log[-3000:]
    with psycopg.connect(warehouse) as conn:
        loads_after = conn.execute("select count(*) from raw.load_audit").fetchone()[0]
    assert accounting(warehouse) == before
    assert loads_after == loads_before
    assert len(re.findall(r"\b0 file\(s\) loaded, \d+ unchanged, 0 failed", log)) == len(SOURCES)


def test_an_unreadable_file_fails_the_run_before_the_warehouse_build(nightly: Nights, warehouse: str):
    settings, run = nightly.settings, nightly.run
    assert nightly.receiver.received == []  # the good nights before this one alerted nobody
    day = END + timedelta(days=1)
    bad = settings.landing_dir / "orders" / f"dt={day}" / "part-00000.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text("order_id,customer_id\nO1,C1\n")
    good = settings.landing_dir / "reviews" / f"dt={day}" / "part-00000.csv"
    good.parent.mkdir(parents=True)
    good.write_text("review_id,customer_id,rating,kind,created_at\nRX1,C0000001,5,review,2026-11-01T09:00:00+00:00\n")

    code, log = run(day)

    assert code != 0
    assert f"orders/dt={day}/part-00000.csv: required column(s) ordered_at, channel, status" in log
    with psycopg.connect(warehouse) as conn:
        assert conn.execute("select count(*) from raw.reviews where review_id = 'RX1'").fetchone()[0] == 1
        built = conn.execute("select count(*) from ops.dbt_node_runs where run_date = %s", (day,)).fetchone()[0]
        state, failed = conn.execute(
            "select state, failed_tasks from ops.night_summary where business_date = %s", (day,)
        ).fetchone()
        failed_rows = conn.execute(
            "select count(*) from ops.run_log where business_date = %s and state = 'failed' and error like %s",
            (day, "%required column%"),
        ).fetchone()[0]
    assert built == 0, "the staging build must not run on a night whose ingestion failed"
    # The failure callbacks: the night is summarised as failed and the task's failure is posted to the webhook.
    assert state == "failed" and failed == ["ingest"] and failed_rows == 1
    [alert] = [m["json"] for m in nightly.receiver.received]
    assert alert["crm"]["task_id"] == "ingest" and alert["crm"]["business_date"] == day.isoformat()
    assert alert["text"].startswith("crm_nightly: task ingest failed")
    assert f"orders/dt={day}/part-00000.csv" in alert["text"]
