"""What each task of the ``crm_nightly`` DAG does, callable and testable without Airflow."""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from proactive_crm.config import Settings, load_settings
from proactive_crm.landing.contract import SOURCES
from proactive_crm.landing.ingest import SourceResult, ingest_source
from proactive_crm.landing.raw_tables import ensure_raw_schema
from proactive_crm.warehouse import connect, warehouse_url

log = logging.getLogger(__name__)


def business_date(data_interval_start: datetime, settings: Settings) -> date:
    """The day a run processes: the store-local date on which its data interval starts.

    The 02:00 run on the 2nd covers the interval that starts 02:00 on the 1st, so it loads partitions up to the 1st.
    """
    return data_interval_start.astimezone(ZoneInfo(settings.store_time_zone)).date()


def ingest(source_name: str, run_date: date, run_id: str | None = None) -> dict[str, object]:
    settings = load_settings()
    with connect(warehouse_url(settings)) as conn:
        result: SourceResult = ingest_source(conn, source_name, run_date, settings, run_id)
    return {
        "source": result.source,
        "files_loaded": result.count("loaded"),
        "files_unchanged": result.count("unchanged"),
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_rejected": result.rows_rejected,
    }


def build_layer(selector: str, run_date: date) -> dict[str, object]:
    from proactive_crm.dbt_runner import build

    settings = load_settings()
    url = warehouse_url(settings)
    with connect(url) as conn:
        # Every raw table exists, even for a source that has never delivered (no web tracking, no responses yet).
        ensure_raw_schema(conn, list(SOURCES.values()))
        results = build(selector, url, settings, run_date, conn)
    return {
        "selector": selector,
        "nodes": len(results),
        "seconds": round(sum(r.execution_seconds for r in results), 2),
    }
