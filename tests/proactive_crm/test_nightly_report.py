"""The nightly report's readers and page on a real (empty, then partly filled) database; the browser test on a
whole generated night is in tests/integration/test_nightly_dag.py."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import psycopg
import pytest

from proactive_crm.config import load_settings
from proactive_crm.nightly_report import build_html, format_kpi
from proactive_crm.nightly_report.data import model_versions, quality_history

RUN_DATE = date(2026, 10, 31)


def _specs(html: str) -> dict:
    match = re.search(r'<script id="chart-specs" type="application/json">(.*?)</script>', html, re.S)
    assert match
    return json.loads(match.group(1))


def test_kpi_formats() -> None:
    assert format_kpi(0.41249, "rate") == "41.2%"
    assert format_kpi(12345.678, "money", "EUR") == "12,345.68 EUR"
    assert format_kpi(1234, "count") == "1,234"
    assert format_kpi(None, "rate") == "n/a"


def test_a_warehouse_without_marts_gets_a_report_that_says_what_is_missing(empty_warehouse: str, tmp_path: Path):
    with psycopg.connect(empty_warehouse, autocommit=True) as conn:
        html = build_html(conn, RUN_DATE, load_settings(), tmp_path / "no_models", docs_link="")
    assert "No KPIs up to 2026-10-31" in html
    assert "Nothing loaded yet" in html and "No quality gate results recorded yet" in html
    assert _specs(html) == {}
    assert "vegaEmbed" in html  # the runtime is inlined even when there is nothing to draw
    assert "dbt docs" not in html  # no link to docs that were not generated


def test_quality_history_marks_each_night_and_gate(empty_warehouse: str) -> None:
    from expectations.store import ensure_quality_schema

    with psycopg.connect(empty_warehouse, autocommit=True) as conn:
        ensure_quality_schema(conn)
        rows = [
            (date(2026, 10, 30), "landing", True, "critical"),
            (date(2026, 10, 30), "warehouse", False, "warning"),
            (date(2026, 10, 31), "landing", False, "critical"),
            (date(2026, 10, 31), "landing", True, "warning"),
            (date(2026, 9, 1), "landing", False, "critical"),  # older than 30 nights: not shown
        ]
        for run_date, gate, success, severity in rows:
            conn.execute(
                "insert into quality.validation_results (run_date, gate, target, suite, check_name, expectation, "
                "success, severity) values (%s, %s, 't', 's', 'c', 'e', %s, %s)",
                (run_date, gate, success, severity),
            )
        history = quality_history(conn, RUN_DATE)
        conn.execute("drop schema quality cascade")
    assert [(r["run_date"], r["gate"], r["status"]) for r in history] == [
        ("2026-10-30", "landing", "pass"),
        ("2026-10-30", "warehouse", "warning"),
        ("2026-10-31", "landing", "critical"),
    ]


def test_model_versions_come_from_the_registry(tmp_path: Path) -> None:
    for version, model_auc, rfm_auc in (("v1", 0.71, 0.69), ("v2", 0.74, 0.70)):
        folder = tmp_path / "churn_risk" / version
        folder.mkdir(parents=True)
        metrics = {"main_metric": "roc_auc", "results": {"xgboost": {"roc_auc": model_auc, "n": 10},
                                                         "rfm": {"roc_auc": rfm_auc}, "rules": {"roc_auc": None}}}
        (folder / "metrics.json").write_text(json.dumps(metrics))
    (tmp_path / "churn_risk" / ".building-x").mkdir()  # an unfinished training is not a version
    rows = model_versions(tmp_path)
    assert [(r["version"], r["method"], r["value"]) for r in rows] == [
        ("v1", "xgboost", 0.71), ("v1", "rfm", 0.69), ("v2", "xgboost", 0.74), ("v2", "rfm", 0.70)
    ]
    assert model_versions(tmp_path / "absent") == []


@pytest.mark.parametrize("text", ["</script><script>alert(1)</script>"])
def test_text_from_the_warehouse_cannot_break_out_of_the_page(text: str) -> None:
    from proactive_crm.nightly_report.render import _script_json

    assert "</script" not in _script_json({"reason": text})
    assert json.loads(_script_json({"reason": text})) == {"reason": text}
