"""The nightly HTML report of a generated night, opened in headless Chromium (Debian's, driven by Playwright).

One night of crm_nightly on a small generated retailer writes the report and the dbt docs; the browser must then
show it with no console error and no request at all (the file is self-contained), every chart drawn as SVG with
data marks, and the headline KPIs equal to the KPI mart. A full-page screenshot is saved in the test's folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import psycopg
import pytest

from devtools.local_airflow import dags_test
from proactive_crm.config import load_settings
from proactive_crm.nightly_report import KPI_COLUMNS, report_path

pytestmark = pytest.mark.integration

END = date(2026, 10, 31)
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


@pytest.fixture(scope="module")
def night(empty_warehouse: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("report_night")
    landing = root / "landing"
    subprocess.run(
        [sys.executable, "-m", "devtools.synth", "--customers", "400", "--days", "120", "--seed", "7",
         "--out", str(landing), "--end-date", END.isoformat(), "--dirty", "--quiet"],
        check=True,
    )
    settings = load_settings({**os.environ, "CRM_LANDING_DIR": str(landing), "CRM_STATE_DIR": str(root / "state")})
    log = root / "night.log"
    env = {"CRM_WAREHOUSE_URL": empty_warehouse, "CRM_MODELS_DIR": str(root / "models")}
    code = dags_test("crm_nightly", END, settings, log, env_extra=env)
    assert code == 0, f"crm_nightly failed; see {log}:\n{log.read_text()[-3000:]}"
    return {"settings": settings, "url": empty_warehouse, "report": report_path(settings, END)}


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
    assert generate_docs(END, settings, url) == docs
    assert docs.stat().st_mtime_ns == written, "unchanged project and warehouse: the docs must not be rebuilt"

    # Another pipeline configuration (it sets dbt vars) is another fingerprint: the docs are generated again.
    config = tmp_path / "pipeline.yml"
    config.write_text(settings.config_path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    changed = load_settings({**os.environ, "CRM_CONFIG": str(config), "CRM_LANDING_DIR": str(settings.landing_dir),
                             "CRM_STATE_DIR": str(settings.state_dir)})
    assert generate_docs(END, changed, url) == docs
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
            (END.replace(day=1),),
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
    args = ["query", "--metrics", "revenue,retention_rate,average_order_value", "--group-by", "metric_time__month",
            "--order", "metric_time__month", "--csv", str(out)]
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
