"""A change of store_time_zone on a built warehouse is noticed: rebuild with a log line, or refuse saying how."""

from __future__ import annotations

import dataclasses
import logging

import psycopg
import pytest

from proactive_crm.config import ConfigError, Settings, load_settings
from proactive_crm.warehouse_calendar import StoreTimeZoneChanged, built_zone, needs_full_refresh, record_zone


@pytest.fixture
def calendar_conn(conn: psycopg.Connection) -> psycopg.Connection:
    conn.execute("drop schema if exists core cascade")
    return conn


def _in(settings: Settings, zone: str, on_change: str = "rebuild") -> Settings:
    return dataclasses.replace(settings, store_time_zone=zone, on_store_time_zone_change=on_change)


def test_an_empty_warehouse_needs_no_rebuild(calendar_conn, settings):
    assert built_zone(calendar_conn) is None
    assert not needs_full_refresh(calendar_conn, _in(settings, "Australia/Sydney"))


def test_the_same_zone_needs_no_rebuild(calendar_conn, settings):
    record_zone(calendar_conn, "Australia/Sydney")
    assert not needs_full_refresh(calendar_conn, _in(settings, "Australia/Sydney", "refuse"))


def test_a_changed_zone_rebuilds_with_a_clear_log_line(calendar_conn, settings, caplog):
    record_zone(calendar_conn, "Europe/Berlin")
    with caplog.at_level(logging.WARNING, logger="proactive_crm.warehouse_calendar"):
        assert needs_full_refresh(calendar_conn, _in(settings, "America/Sao_Paulo"))
    assert "store_time_zone changed from Europe/Berlin to America/Sao_Paulo" in caplog.text
    assert "--full-refresh" in caplog.text


def test_a_changed_zone_is_refused_when_configured(calendar_conn, settings):
    record_zone(calendar_conn, "Europe/Berlin")
    with pytest.raises(StoreTimeZoneChanged, match=r"set store_time_zone back to 'Europe/Berlin'.*"
                       r"on_store_time_zone_change: rebuild"):
        needs_full_refresh(calendar_conn, _in(settings, "America/Sao_Paulo", "refuse"))
    record_zone(calendar_conn, "America/Sao_Paulo")  # what a rebuild records
    assert built_zone(calendar_conn) == "America/Sao_Paulo"


def test_a_warehouse_built_before_the_record_counted_utc_days(calendar_conn, settings):
    calendar_conn.execute("create schema core; create table core.fct_orders (order_id text)")
    assert built_zone(calendar_conn) == "UTC"
    assert needs_full_refresh(calendar_conn, _in(settings, "Europe/Berlin"))
    assert not needs_full_refresh(calendar_conn, _in(settings, "UTC", "refuse"))


def test_the_setting_is_checked(tmp_path):
    config = tmp_path / "pipeline.yml"
    config.write_text("store_time_zone: UTC\non_store_time_zone_change: ignore\n")
    with pytest.raises(ConfigError, match="on_store_time_zone_change must be rebuild or refuse"):
        load_settings({"CRM_CONFIG": str(config)})
