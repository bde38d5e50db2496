"""Gate 2: each mart defect is caught in the database, with the severity the configuration gives it.

The marts are small hand-made tables with the names and columns the dbt models build, consistent with each other
(order totals equal their lines); each test breaks one thing. Row-level rules (one row per customer, KPI rates in
[0, 1]) are dbt tests, not this gate's: tests/integration/test_warehouse_kpis.py shows dbt failing on them.
"""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest
from psycopg import sql

from expectations.outcome import QualityGateError
from expectations.store import format_gate_summary
from expectations.warehouse_gate import run_warehouse_gate
from proactive_crm.config import ConfigError, Settings
from proactive_crm.quality_config import MOVED_TO_DBT, QualityConfig
from tests.expectations.conftest import failed, results, with_quality

RUN = date(2026, 10, 31)

MARTS = """
create schema core;
create schema kpi;
create schema ml;
create table core.dim_customers (customer_id text, rfm_segment text, pareto_class text);
insert into core.dim_customers
select 'C' || i, (array['champions', 'loyal', 'at_risk', 'hibernating'])[1 + i % 4],
    case when i < 8 then 'A' else 'B' end
from generate_series(1, 40) as i;
create table core.fct_orders (
    order_id text, customer_id text, ordered_at timestamptz, ordered_date date, channel text, status text,
    is_completed boolean, total_amount numeric(14, 2), count_lines integer, lines_amount numeric(14, 2)
);
insert into core.fct_orders
select 'O' || i, 'C' || (1 + i % 40), {run} - (i % 30) + time '10:00', {run} - (i % 30),
    (array['web', 'app', 'store'])[1 + i % 3], case when i % 10 = 0 then 'cancelled' else 'completed' end,
    i % 10 <> 0, 2 * (5 + i % 17), 2, 2 * (5 + i % 17)
from generate_series(1, 120) as i;
create table core.fct_order_lines (
    order_line_id text, order_id text, customer_id text, product_id text, line_amount numeric(14, 2),
    is_completed boolean, ordered_date date
);
insert into core.fct_order_lines
select o.order_id || '-' || n, o.order_id, o.customer_id, 'P' || n, o.total_amount / 2, o.is_completed, o.ordered_date
from core.fct_orders as o cross join generate_series(1, 2) as n;
create table kpi.kpi_customers_daily (
    as_of_date date, count_customers integer, repeat_rate numeric(6, 4), churn_share double precision
);
insert into kpi.kpi_customers_daily
select {run} - d, 40, 0.30 + d / 100.0, 0.10 from generate_series(0, 6) as d;
create table ml.ml_customer_features (
    customer_id text, as_of_date date, days_since_last_order integer, count_orders_365d bigint,
    revenue_prev_90d numeric(14, 2), rfm_segment text
);
"""

FEATURES = """
delete from ml.ml_customer_features where as_of_date = {as_of};
insert into ml.ml_customer_features
select 'C' || i, {as_of}, (i * 7) % 120, i % 9, (i % 23) * 11.5, 'loyal' from generate_series(1, 400) as i;
"""


def features(conn: psycopg.Connection, as_of: date) -> None:
    conn.execute(sql.SQL(FEATURES).format(as_of=sql.Literal(as_of)))


def build_marts(conn: psycopg.Connection, run: date = RUN) -> None:
    conn.execute(sql.SQL(MARTS).format(run=sql.Literal(run)))
    features(conn, run + timedelta(days=1))  # features are as of the day after the run date


@pytest.fixture
def marts(qconn: psycopg.Connection) -> psycopg.Connection:
    build_marts(qconn)
    return qconn


def gate_fails(conn: psycopg.Connection, settings: Settings, run: date = RUN) -> str:
    with pytest.raises(QualityGateError) as caught:
        run_warehouse_gate(conn, run, settings)
    return str(caught.value)


def test_clean_marts_pass_and_the_first_run_has_no_drift_baseline(marts, settings: Settings):
    outcome = run_warehouse_gate(marts, RUN, settings)

    assert not outcome.failed_critical and not outcome.failed_warning
    checks = {(f.target, f.check) for f in outcome.findings}
    assert {
        ("core.fct_orders", "revenue_reconciles"),
        ("core.fct_orders", "freshness"),
        ("core.dim_customers", "not_empty"),
        ("kpi.kpi_customers_daily", "freshness"),  # discovered from information_schema
        ("ml.ml_customer_features", "freshness"),
    } <= checks
    assert not any(check in MOVED_TO_DBT for _, check in checks)
    drift = [r for r in results(marts, "warehouse") if r[1] == "feature_drift"]
    assert drift == [("ml.ml_customer_features", "feature_drift", None, "warning", None,
                      "not evaluated: no earlier run's feature profile to compare with (first run)")]
    profiled = marts.execute("select feature, row_count from quality.feature_profiles order by feature").fetchall()
    # the key features of config/pipeline.yml that the table has
    assert profiled == [("count_orders_365d", 400), ("days_since_last_order", 400), ("revenue_prev_90d", 400)]
    assert format_gate_summary(marts, RUN).startswith("warehouse  PASSED ")
    assert (settings.state_dir / "quality" / "data_docs" / "warehouse" / "marts" / "index.html").exists()


def test_a_new_kpi_table_is_covered_without_a_code_change(marts, settings):
    marts.execute("create table kpi.kpi_orders_weekly (week_start_date date, conversion_rate numeric)")
    marts.execute("insert into kpi.kpi_orders_weekly values (%s, 0.2)", (RUN - timedelta(days=14),))

    message = gate_fails(marts, settings)

    assert failed(marts, "warehouse") == {("freshness", "week_start_date", "critical")}
    assert "kpi.kpi_orders_weekly: freshness" in message
    assert "nothing downstream of the warehouse runs" in message


def test_checks_that_dbt_owns_are_refused_in_the_configuration_with_where_they_went(settings):
    for check in MOVED_TO_DBT:
        with pytest.raises(ConfigError, match=rf"quality.warehouse.{check}: this check is a dbt test now"):
            QualityConfig.from_settings(with_quality(settings, {"warehouse": {check: {"severity": "warning"}}}))
    with pytest.raises(ConfigError, match="kpi_rates: this check is a dbt test now"):
        QualityConfig.from_settings(
            with_quality(settings, {"warehouse": {"overrides": {"kpi.kpi_x.y_rate": {"kpi_rates": "warning"}}}})
        )


def test_revenue_that_does_not_reconcile_between_orders_and_lines_is_critical(marts, settings):
    marts.execute("delete from core.fct_order_lines where order_line_id = 'O3-2'")  # a lost line

    message = gate_fails(marts, settings)

    assert failed(marts, "warehouse") == {("revenue_reconciles", "total_amount", "critical")}
    assert '"difference": 8.0' in message and "core.fct_order_lines" in message


def test_delivery_charges_in_order_totals_reconcile_through_shipping_amount(marts, settings):
    # A marketplace export: every total includes freight, which no product line carries.
    marts.execute("alter table core.fct_orders add column shipping_amount numeric(14, 2) not null default 0")
    marts.execute("update core.fct_orders set total_amount = total_amount + 7.5, shipping_amount = 7.5")
    assert run_warehouse_gate(marts, RUN, settings).failed_warning == []

    marts.execute("update core.fct_orders set shipping_amount = 7 where order_id = 'O3'")  # 0.50 left unexplained
    outcome = run_warehouse_gate(marts, RUN, settings)
    assert [(f.check, f.severity) for f in outcome.failed_warning] == [("order_totals_match_lines", "warning")]
    assert '"order_id": "O3"' in outcome.failed_warning[0].observed
    assert '"difference": 0.5' in outcome.failed_warning[0].observed


def test_an_order_whose_total_differs_from_its_lines_is_a_warning(marts, settings):
    marts.execute("update core.fct_orders set lines_amount = lines_amount - 0.5 where order_id = 'O3'")

    outcome = run_warehouse_gate(marts, RUN, settings)

    assert [(f.check, f.severity) for f in outcome.failed_warning] == [("order_totals_match_lines", "warning")]
    assert '"order_id": "O3"' in outcome.failed_warning[0].observed


def test_a_stale_mart_is_critical(marts, settings):
    marts.execute("update core.fct_orders set ordered_date = ordered_date - 5")  # no order since the 26th

    message = gate_fails(marts, settings)

    assert failed(marts, "warehouse") == {("freshness", "ordered_date", "critical")}
    assert "observed 2026-10-26" in message and "between 2026-10-30 and 2026-11-01" in message


def test_a_drifted_feature_is_flagged_against_the_previous_run(marts, settings):
    run_warehouse_gate(marts, RUN, settings)  # stores the profile of the 31st
    next_day = RUN + timedelta(days=1)
    features(marts, next_day + timedelta(days=1))  # the same population a day later
    marts.execute("update core.fct_orders set ordered_date = ordered_date + 1")

    assert not run_warehouse_gate(marts, next_day, settings).failed_warning  # unchanged distributions: no drift

    marts.execute("update ml.ml_customer_features set days_since_last_order = days_since_last_order * 4 + 200")
    outcome = run_warehouse_gate(marts, next_day, settings)

    assert [(f.check, f.severity) for f in outcome.failed_warning] == [("feature_drift", "warning")]
    assert '"feature": "days_since_last_order"' in outcome.failed_warning[0].observed
    assert "revenue_prev_90d" not in outcome.failed_warning[0].observed
    baseline = marts.execute("select distinct run_date from quality.feature_profiles order by 1").fetchall()
    assert baseline == [(RUN,), (next_day,)]


def test_a_missing_mart_is_critical(marts, settings):
    marts.execute("drop table core.dim_customers")

    message = gate_fails(marts, settings)

    assert failed(marts, "warehouse") == {("table_exists", None, "critical")}
    expected = "- table core.dim_customers: table_exists (table_exists): observed core.dim_customers does not exist"
    assert expected in message


def test_severity_is_configuration_and_reruns_replace_their_rows(marts, settings):
    marts.execute("delete from core.fct_order_lines where order_line_id = 'O3-2'")  # a lost line
    lenient = with_quality(settings, {"warehouse": {"overrides": {"core.fct_orders": {
        "revenue_reconciles": "warning"}}}})

    first = run_warehouse_gate(marts, RUN, lenient)
    again = run_warehouse_gate(marts, RUN, lenient)

    assert [(f.check, f.severity) for f in again.failed_warning] == [("revenue_reconciles", "warning")]
    count = marts.execute("select count(*) from quality.validation_results where gate = 'warehouse'").fetchone()[0]
    assert count == len(first.findings) == len(again.findings)
    assert "0 critical failed, 1 warning(s)" in format_gate_summary(marts, RUN)
    with pytest.raises(QualityGateError):  # the default configuration: critical
        run_warehouse_gate(marts, RUN, settings)


def test_the_nightly_task_function_raises_with_the_message(marts, settings, monkeypatch: pytest.MonkeyPatch):
    from proactive_crm.tasks import nightly

    monkeypatch.setenv("CRM_STATE_DIR", str(settings.state_dir))
    assert nightly.warehouse_gate(RUN)["failed_warning"] == 0
    marts.execute("delete from core.fct_order_lines where order_line_id = 'O3-2'")
    with pytest.raises(QualityGateError, match="core.fct_orders: revenue_reconciles"):
        nightly.warehouse_gate(RUN)
