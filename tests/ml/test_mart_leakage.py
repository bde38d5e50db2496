"""No feature the models use moves when the future changes: the dbt feature mart and the ML code's own history.

A synthetic retailer is loaded twice: as generated, and with every order, order line, review, web event and
response from the store-local start of CUT on removed (the most extreme "shift of the future"). Both are built with
the same run date. Every feature row as of a date up to CUT must be identical in the two warehouses. Twice: for a
store in Berlin, and for one in Sydney, where the local day starts 10 or 11 hours before the UTC day (features cut
at UTC midnight would still see the first half of the local as-of day).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from ml.categories import load_category_frame
from ml.config import MLConfig
from ml.features import load_customer_frame
from proactive_crm.config import load_settings
from proactive_crm.store_calendar import day_start
from proactive_crm.warehouse import with_database

pytestmark = pytest.mark.integration

END = date(2026, 10, 31)
CUT = date(2026, 9, 1)
EVENT_SOURCES = ("orders", "order_lines", "reviews", "web_events", "action_responses")
ZONES = ("Europe/Berlin", "Australia/Sydney")
# raw table -> its event time: the rows the cut deletes from the local start of CUT on
EVENT_TIMES = {"orders": "ordered_at", "reviews": "created_at", "web_events": "occurred_at",
               "action_responses": "occurred_at"}


def _load(url: str, landing: Path, state: Path, config: Path, cut: bool) -> None:
    from proactive_crm.dbt_runner import run_dbt
    from proactive_crm.landing.contract import SOURCES
    from proactive_crm.landing.ingest import ingest_source
    from proactive_crm.landing.raw_tables import ensure_raw_schema

    settings = load_settings(
        {**os.environ, "CRM_LANDING_DIR": str(landing), "CRM_STATE_DIR": str(state), "CRM_CONFIG": str(config)}
    )
    with psycopg.connect(url) as conn:
        ensure_raw_schema(conn, list(SOURCES.values()))
        for source in SOURCES:
            ingest_source(conn, source, END, settings, None)
        if cut:  # partitions are UTC days: also what arrived in earlier partitions but happened after the cut
            start = day_start(CUT, settings.store_time_zone)
            conn.execute(
                "delete from raw.order_lines "
                "where order_id in (select order_id from raw.orders where ordered_at >= %s)",
                (start,),
            )
            for table, column in EVENT_TIMES.items():
                conn.execute(f"delete from raw.{table} where {column} >= %s", (start,))
        conn.commit()
    code, _, results = run_dbt(["run", "--select", "+ml_customer_features"], url, settings, END)
    failed = [r.unique_id for r in results if r.status != "success"]
    assert code == 0 and not failed, f"dbt run failed: {failed}"


@pytest.fixture(scope="module", params=ZONES)
def two_warehouses(request, warehouse: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from devtools.synth import SynthConfig, generate

    root = tmp_path_factory.mktemp("leakage")
    config = root / "pipeline.yml"
    # The weekly grain: its as-of dates (Mondays and month starts) include every monthly one.
    config.write_text(f"store_time_zone: {request.param}\nwarehouse: {{as_of_grain: week}}\n", encoding="utf-8")
    full = root / "full"
    generate(SynthConfig(customers=400, days=150, seed=11, out_dir=full, end_date=END, quiet=True))
    cut = root / "cut"
    shutil.copytree(full, cut)
    for source in EVENT_SOURCES:
        for partition in (cut / source).glob("dt=*"):
            if date.fromisoformat(partition.name[3:]) >= CUT:
                shutil.rmtree(partition)
    urls = []
    with psycopg.connect(warehouse, autocommit=True) as admin:
        for name in ("full", "cut"):
            db = f"crm_leak_{name}_{uuid.uuid4().hex[:6]}"
            admin.execute(f'create database "{db}"')
            urls.append(with_database(warehouse, db))
    try:
        _load(urls[0], full, root / "state_full", config, cut=False)
        _load(urls[1], cut, root / "state_cut", config, cut=True)
        yield urls[0], urls[1]
    finally:
        with psycopg.connect(warehouse, autocommit=True) as admin:
            for url in urls:
                admin.execute(f'drop database if exists "{url.rsplit("/", 1)[1].split("?")[0]}" with (force)')


def _mart(url: str) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        cur = conn.execute(
            "select * from ml.ml_customer_features where as_of_date <= %s order by as_of_date, customer_id", (CUT,)
        )
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def test_feature_mart_rows_do_not_move_when_the_future_changes(two_warehouses):
    full, cut = (_mart(url) for url in two_warehouses)
    assert full["as_of_date"].nunique() >= 4 and len(full) > 500
    assert any(d.weekday() == 0 and d.day != 1 for d in full["as_of_date"])  # weekly as-of dates are checked too
    pd.testing.assert_frame_equal(full, cut)


def test_ml_history_features_do_not_move_when_the_future_changes(two_warehouses, tmp_path):
    cfg = MLConfig(models_dir=tmp_path)
    as_of = [date(2026, 7, 1), date(2026, 8, 1), CUT]
    frames = []
    for url in two_warehouses:
        with psycopg.connect(url) as conn:
            frames.append((load_customer_frame(conn, cfg, as_of), load_category_frame(conn, cfg, as_of)))
    pd.testing.assert_frame_equal(frames[0][0], frames[1][0])
    pd.testing.assert_frame_equal(frames[0][1], frames[1][1])
    assert len(frames[0][0]) > 200
