"""An incremental night's staging build (the DAG's build_staging) fails on a bad new row, a late file's included,
and on a new row whose key an old row already has. Guards any narrowing of the staging tests to the night's rows:
benchmarks/README.md, "The aims of issue 14", item 3, says why the tests still read the whole history."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import psycopg
import pytest

from proactive_crm.dbt_runner import DbtError
from proactive_crm.landing.raw_tables import ensure_raw_schema
from proactive_crm.tasks.nightly import build_layer

pytestmark = pytest.mark.integration

DAY = date(2026, 3, 2)


@pytest.fixture
def night(empty_warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The warehouse with empty raw and staging schemas, and a pipeline configuration of its own."""
    config = tmp_path / "pipeline.yml"
    config.write_text("store_time_zone: UTC\n", encoding="utf-8")
    (tmp_path / "landing").mkdir()
    monkeypatch.setenv("CRM_CONFIG", str(config))
    monkeypatch.setenv("CRM_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("CRM_STATE_DIR", str(tmp_path / "state"))
    with psycopg.connect(empty_warehouse, autocommit=True) as conn:
        for schema in ("raw", "staging"):
            conn.execute(f"drop schema if exists {schema} cascade")
    return empty_warehouse


def _load(conn: psycopg.Connection, partition: date, orders: list[tuple[str, str]], customers: list[str | None]) -> int:
    """One load of an orders file and a customers file in ``partition``, as ingest writes them; returns its load id.
    ``orders`` are (order_id, status); ``customers`` are signup dates of customers C<n>, None for a missing one."""
    load_id = 0
    for table, rows in (("orders", orders), ("customers", customers)):
        load_id = conn.execute(
            "insert into raw.load_audit (source, partition_date, source_file, status, started_at) "
            "values (%s, %s, %s, 'loaded', now()) returning load_id",
            (table, partition, f"{table}/{partition}/{table}.csv"),
        ).fetchone()[0]
        for line, row in enumerate(rows, start=1):
            lineage = (f"{table}/{partition}/{table}.csv", partition, line, load_id)
            if table == "orders":
                conn.execute(
                    "insert into raw.orders (order_id, customer_id, ordered_at, channel, status, currency, "
                    "total_amount, _source_file, _partition_date, _line_number, _load_id) "
                    "values (%s, 'C1', %s, 'web', %s, 'EUR', 10, %s, %s, %s, %s)",
                    (row[0], datetime(2026, 2, 1), row[1], *lineage),
                )
            else:
                conn.execute(
                    "insert into raw.customers (customer_id, signup_at, consent_email, consent_sms, updated_at, "
                    "_source_file, _partition_date, _line_number, _load_id) "
                    "values (%s, %s, true, false, %s, %s, %s, %s, %s)",
                    (f"C{load_id}_{line}", row, datetime(2026, 2, 1), *lineage),
                )
    return load_id


def test_a_night_fails_on_a_bad_new_row_of_a_late_file(night: str):
    with psycopg.connect(night, autocommit=True) as conn:
        ensure_raw_schema(conn)
        _load(conn, date(2026, 3, 1), [("O1", "completed"), ("O2", "completed")], [datetime(2026, 1, 5)])
        build_layer("staging", DAY)

        # A late file for an old partition, with an unknown status and a customer without a signup date.
        _load(conn, date(2026, 2, 15), [("O4", "lost")], [None])
        with pytest.raises(DbtError) as failed:
            build_layer("staging", DAY)
        assert "accepted_values_stg_shop__orders_status" in str(failed.value)
        assert "not_null_stg_shop__customers_signup_at" in str(failed.value)


def _load_lines(conn: psycopg.Connection, partition: date, lines: list[tuple[str, int]]) -> None:
    load_id = conn.execute(
        "insert into raw.load_audit (source, partition_date, source_file, status, started_at) "
        "values ('order_lines', %s, %s, 'loaded', now()) returning load_id",
        (partition, f"order_lines/{partition}/order_lines.csv"),
    ).fetchone()[0]
    for line, (order_id, line_number) in enumerate(lines, start=1):
        conn.execute(
            "insert into raw.order_lines (order_id, line_number, product_id, quantity, unit_price, discount_amount, "
            "_source_file, _partition_date, _line_number, _load_id) values (%s, %s, 'P1', 1, 5, 0, %s, %s, %s, %s)",
            (order_id, line_number, f"order_lines/{partition}/order_lines.csv", partition, line, load_id),
        )


def test_a_new_row_that_duplicates_an_old_rows_key_fails_the_night(night: str):
    """order_line_id is order_id || '-' || line_number: line -1 of order O9 and line 1 of order O9- share the key
    O9--1. The old line passed alone; tonight's duplicates it. A test narrowed to the night's orders would miss it:
    a narrowing must window on the tested key itself."""
    with psycopg.connect(night, autocommit=True) as conn:
        ensure_raw_schema(conn)
        _load_lines(conn, date(2026, 3, 1), [("O9", -1), ("O8", 1)])
        build_layer("staging", DAY)

        _load_lines(conn, date(2026, 3, 2), [("O9-", 1)])
        with pytest.raises(DbtError, match="unique_stg_shop__order_lines_order_line_id"):
            build_layer("staging", DAY)


def _load_events(conn: psycopg.Connection, partition: date, events: list[tuple[str, str]]) -> None:
    """One web event file in ``partition``: (event_id, event_type) pairs."""
    load_id = conn.execute(
        "insert into raw.load_audit (source, partition_date, source_file, status, started_at) "
        "values ('web_events', %s, %s, 'loaded', now()) returning load_id",
        (partition, f"web_events/{partition}/web_events.csv"),
    ).fetchone()[0]
    for line, (event_id, event_type) in enumerate(events, start=1):
        conn.execute(
            "insert into raw.web_events (event_id, occurred_at, anonymous_id, event_type, _source_file, "
            "_partition_date, _line_number, _load_id) values (%s, %s, 'V1', %s, %s, %s, %s, %s)",
            (event_id, datetime(2026, 2, 1), event_type, f"web_events/{partition}/web_events.csv", partition, line,
             load_id),
        )


def test_web_event_tests_check_the_partitions_of_the_untested_loads(night: str):
    """stg_web__events' tests read the partitions that loads not yet tested delivered to, and later ones; a late
    file widens that to its own partition, and a failed night's loads stay in it until a staging build passes."""
    with psycopg.connect(night, autocommit=True) as conn:
        ensure_raw_schema(conn)
        _load_events(conn, date(2026, 3, 1), [("E1", "page_view"), ("E2", "page_view")])
        build_layer("staging", DAY)  # the first build tests every row

        # An old event gone bad in place is outside the next night's window (a full refresh would catch it): the
        # window is narrower than the history, so the failures below come from the new rows.
        conn.execute("update raw.web_events set event_type = 'teleport' where event_id = 'E2'")
        _load_events(conn, date(2026, 3, 2), [("E3", "search")])
        build_layer("staging", DAY)
        conn.execute("update raw.web_events set event_type = 'page_view' where event_id = 'E2'")

        _load_events(conn, date(2026, 2, 15), [("E4", "teleport")])  # a late file for an old partition
        with pytest.raises(DbtError, match="accepted_values_stg_web__events_event_type"):
            build_layer("staging", DAY)
        _load_events(conn, date(2026, 3, 3), [("E5", "login")])  # the next night's good file
        with pytest.raises(DbtError, match="accepted_values_stg_web__events_event_type"):
            build_layer("staging", DAY)
