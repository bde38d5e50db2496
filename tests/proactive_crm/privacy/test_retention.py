"""Retention deletes exactly what is older than configured, records it, and reports it (both servers with
``make test-pg15``)."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
import yaml

from proactive_crm.config import PROJECT_ROOT, ConfigError, load_settings
from proactive_crm.landing.raw_tables import ensure_raw_schema
from proactive_crm.privacy.retention import DEFAULT_DAYS, apply_retention, format_retention_summary

RUN = date(2026, 10, 31)


def _settings(tmp_path: Path, retention: dict | None):
    config = yaml.safe_load((PROJECT_ROOT / "config" / "pipeline.yml").read_text())
    config.pop("retention", None)
    if retention is not None:
        config["retention"] = retention
    path = tmp_path / "pipeline.yml"
    path.write_text(yaml.safe_dump(config))
    return load_settings({**os.environ, "CRM_CONFIG": str(path), "CRM_STATE_DIR": str(tmp_path / "state")})


def _fill(conn: psycopg.Connection, outbox: Path, ages: list[int]) -> None:
    conn.execute("drop schema if exists restricted cascade")
    conn.execute("drop schema if exists actions cascade")
    ensure_raw_schema(conn)
    conn.execute("create schema actions")
    conn.execute("create table actions.decisions (run_date date not null, customer_id text not null)")
    for age in ages:
        day = RUN - timedelta(days=age)
        conn.execute(
            "insert into raw.web_events (event_id, occurred_at, anonymous_id, event_type, _source_file, "
            "_partition_date, _line_number, _load_id) values (%s, %s, 'v1', 'page_view', 'f', %s, 1, 1)",
            (f"E{age}", day, day),
        )
        conn.execute(
            "insert into restricted.customers_rejected values (1, 'f', %s, 2, 'C1,raw text', 'reason')", (day,)
        )
        conn.execute("insert into raw.orders_rejected values (1, 'f', %s, 2, 'O1,raw', 'reason')", (day,))
        conn.execute("insert into actions.decisions values (%s, 'C1')", (day,))
        for channel in ("email", "sms"):
            folder = outbox / channel / f"dt={day}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "actions.csv").write_text("customer_id\nC1\n")


def _left(conn: psycopg.Connection) -> dict[str, list[int]]:
    def ages(query: str) -> list[int]:
        return sorted((RUN - d).days for (d,) in conn.execute(query).fetchall())

    return {
        "web_events": ages("select _partition_date from raw.web_events"),
        "rejected": ages("select _partition_date from restricted.customers_rejected union all "
                         "select _partition_date from raw.orders_rejected"),
        "decisions": ages("select run_date from actions.decisions"),
    }


def test_defaults_keep_400_days_and_30_days_of_outbox(conn: psycopg.Connection, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    _fill(conn, outbox, [0, 29, 30, 31, 399, 400, 401, 900])
    done = apply_retention(conn, RUN, _settings(tmp_path, None), outbox)
    assert _left(conn) == {
        "web_events": [0, 29, 30, 31, 399, 400],
        "rejected": sorted([0, 29, 30, 31, 399, 400] * 2),
        "decisions": [0, 29, 30, 31, 399, 400],
    }
    assert sorted(p.name for p in (outbox / "email").iterdir()) == sorted(
        f"dt={RUN - timedelta(days=a)}" for a in (0, 29, 30)
    )
    assert {d.target: d.rows for d in done} == {
        "raw.web_events": 2, "rejected rows": 4, "actions.decisions": 2, "outbox folders": 10,
    }
    recorded = conn.execute("select target, retention_days, rows_deleted from ops.retention_runs "
                            "where run_date = %s order by target", (RUN,)).fetchall()
    assert recorded == [("actions.decisions", 400, 2), ("outbox folders", 30, 10), ("raw.web_events", 400, 2),
                        ("rejected rows", 400, 4)]
    summary = format_retention_summary(conn, RUN)
    assert "raw.web_events" in summary and "kept  400 days" in summary and "10 folder(s)" in summary
    # a second run the same night finds nothing more to delete and records that
    assert sum(d.rows for d in apply_retention(conn, RUN, _settings(tmp_path, None), outbox)) == 0
    assert DEFAULT_DAYS == {"web_events": 400, "rejected_rows": 400, "decisions": 400, "outbox_files": 30}


def test_configured_days_apply_per_target(conn: psycopg.Connection, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    _fill(conn, outbox, [0, 10, 100])
    settings = _settings(tmp_path, {"web_events": 50, "rejected_rows": 5, "decisions": 200, "outbox_files": 1})
    apply_retention(conn, RUN, settings, outbox)
    assert _left(conn) == {"web_events": [0, 10], "rejected": [0, 0], "decisions": [0, 10, 100]}
    assert [p.name for p in (outbox / "sms").iterdir()] == [f"dt={RUN}"]


@pytest.mark.parametrize("retention", [{"web_event": 10}, {"decisions": 0}, {"outbox_files": "30"}])
def test_a_wrong_setting_is_refused_with_its_key(conn: psycopg.Connection, tmp_path: Path, retention: dict) -> None:
    with pytest.raises(ConfigError, match="retention"):
        apply_retention(conn, RUN, _settings(tmp_path, retention), tmp_path / "outbox")
