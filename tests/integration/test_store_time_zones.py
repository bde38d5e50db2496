"""KPI days and months are the store's local calendar: Sao Paulo and Sydney, late-evening orders and DST changes.

A generated retailer per zone, plus orders planted in the last seconds of local days and months, at the first
second of the next local day, and in the last hour of a daylight-saving day (Sydney's 23-hour 4 October 2026;
Sao Paulo's 4 November 2018, whose midnight did not exist). The warehouse is built in the store's zone after an
earlier build in UTC was recorded, so the night must rebuild with a full refresh. The KPI marts must then agree to
the cent with pandas grouping the landing files by local date (tests/integration/test_warehouse_kpis.py's
reference), and every planted order must land on its local day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import psycopg
import pytest

from devtools.synth.config import SynthConfig
from devtools.synth.simulate import generate
from proactive_crm.store_calendar import day_end
from proactive_crm.tasks.nightly import build_layer, build_warehouse
from proactive_crm.warehouse_calendar import built_zone, record_zone
from tests.integration.test_warehouse_kpis import Landing, compare_kpi_table, expected_kpis, load_raw, read_table

pytestmark = pytest.mark.integration

# zone, last business day, a day whose local length is not 24 hours
STORES = {
    "America/Sao_Paulo": (date(2018, 11, 30), date(2018, 11, 4)),
    "Australia/Sydney": (date(2026, 10, 31), date(2026, 10, 4)),
}
DAYS = 75
CUSTOMERS = 300


def planted_instants(zone: str, end: date, dst_day: date) -> dict[str, tuple[datetime, date]]:
    """Order id -> (UTC instant, the local date it must count on): the edges of local days and months."""
    tz = ZoneInfo(zone)
    start = end - timedelta(days=DAYS - 1)
    planted: dict[str, tuple[datetime, date]] = {}
    month_ends = [d for d in (start + timedelta(days=i) for i in range(DAYS)) if (d + timedelta(days=1)).day == 1]
    for n, day in enumerate([*month_ends, dst_day], start=1):
        last_second = day_end(day, zone) - timedelta(seconds=1)
        planted[f"O-TZ-{n}-LAST"] = (last_second, day)
        planted[f"O-TZ-{n}-LATE"] = (datetime.combine(day, time(22, 30), tzinfo=tz).astimezone(UTC), day)
        if day < end:
            planted[f"O-TZ-{n}-FIRST"] = (day_end(day, zone), day + timedelta(days=1))
    return planted


def plant_orders(landing: Path, planted: dict[str, tuple[datetime, date]]) -> None:
    """One more landing file per local day with the planted orders (completed, one line each, EUR)."""
    customers = pd.concat(pd.read_csv(f, dtype=str) for f in sorted((landing / "customers").glob("dt=*/*.csv")))
    products = pd.concat(pd.read_csv(f, dtype=str) for f in sorted((landing / "products").glob("dt=*/*.csv")))
    customers["signup_at"] = pd.to_datetime(customers["signup_at"], utc=True)
    product = products.sort_values("product_id")["product_id"].iloc[0]
    for n, (order_id, (instant, local_day)) in enumerate(sorted(planted.items())):
        signed_up = customers[customers["signup_at"] < instant].sort_values("customer_id")
        customer = signed_up["customer_id"].iloc[n % len(signed_up)]
        amount = f"{100 + n}.{n % 100:02d}"
        partition = f"dt={local_day.isoformat()}"
        for source, header, row in (
            ("orders", "order_id,customer_id,ordered_at,channel,status,currency,total_amount,shipping_amount",
             f"{order_id},{customer},{instant.isoformat()},web,completed,EUR,{amount},0.00"),
            ("order_lines", "order_id,line_number,product_id,quantity,unit_price,discount_amount",
             f"{order_id},1,{product},1,{amount},0.00"),
        ):
            folder = landing / source / partition
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"part-tz-{order_id}.csv").write_text(f"{header}\n{row}\n", encoding="utf-8")


@pytest.fixture(scope="module", params=sorted(STORES))
def store(request, empty_warehouse: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    zone = request.param
    end, dst_day = STORES[zone]
    root = tmp_path_factory.mktemp(zone.replace("/", "_"))
    landing = root / "landing"
    generate(SynthConfig(customers=CUSTOMERS, days=DAYS, seed=13, out_dir=landing, end_date=end, quiet=True))
    planted = planted_instants(zone, end, dst_day)
    plant_orders(landing, planted)
    config = root / "pipeline.yml"
    config.write_text(f"store_time_zone: {zone}\ncurrency: EUR\n", encoding="utf-8")
    with psycopg.connect(empty_warehouse, autocommit=True) as conn:  # this module's previous zone, if any
        for schema in ("raw", "staging", "intermediate", "core", "kpi", "ml", "snapshots", "ops", "actions"):
            conn.execute(f"drop schema if exists {schema} cascade")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CRM_CONFIG", str(config))
        env.setenv("CRM_LANDING_DIR", str(landing))
        env.setenv("CRM_STATE_DIR", str(root / "state"))
        load_raw(empty_warehouse, end)
        build_layer("staging", end)
        with psycopg.connect(empty_warehouse) as conn:  # as if the warehouse had been built with UTC days
            record_zone(conn, "UTC")
        night = build_warehouse(end)
        with psycopg.connect(empty_warehouse) as conn:
            recorded = built_zone(conn)
        yield {"url": empty_warehouse, "zone": zone, "end": end, "landing": landing, "planted": planted,
               "night": night, "recorded": recorded}


def test_a_warehouse_built_in_another_zone_is_rebuilt(store):
    assert store["night"]["full_refresh"] is True
    assert store["recorded"] == store["zone"]


def test_orders_at_the_edges_of_local_days_count_on_their_local_day(store):
    orders = read_table(store["url"], "core.fct_orders", "where order_id like 'O-TZ-%'")
    got = dict(zip(orders["order_id"], orders["ordered_date"], strict=True))
    want = {order_id: local_day for order_id, (_, local_day) in store["planted"].items()}
    assert got == want
    # the planted edges really are edges: UTC puts some of them on another day
    utc_days = {order_id: instant.date() for order_id, (instant, _) in store["planted"].items()}
    assert sum(utc_days[o] != want[o] for o in want) >= len(want) // 3


@pytest.fixture(scope="module")
def reference(store) -> dict[str, pd.DataFrame]:
    return expected_kpis(Landing(store["landing"], store["end"], store["zone"]), store["end"])


@pytest.mark.parametrize("grain", ["daily", "monthly"])
def test_customer_health_kpis_match_pandas_by_local_date(store, reference, grain):
    expected = reference["day" if grain == "daily" else "month"]
    actual = read_table(store["url"], f"kpi.kpi_customer_health_{grain}")
    assert len(expected) > 0
    compare_kpi_table(actual, expected, ["period_start", "dimension", "dimension_value"], f"{store['zone']} {grain}")


def test_profitability_matrix_matches_pandas_by_local_month(store, reference):
    actual = read_table(store["url"], "kpi.kpi_profitability_matrix_monthly")
    compare_kpi_table(actual, reference["profitability"], ["period_start", "customer_value_class", "category"],
                      f"{store['zone']} matrix")


def test_monthly_revenue_is_the_books_of_the_local_month(store):
    """The month's revenue in the mart equals the completed orders whose local time falls in that month."""
    landing = Landing(store["landing"], store["end"], store["zone"])
    done = landing.orders[landing.orders["is_completed"]]
    books = done.groupby(done["ordered_date"].map(lambda d: d.replace(day=1)))["total_cents"].sum()
    mart = read_table(store["url"], "kpi.kpi_customer_health_monthly", "where dimension = 'overall'")
    got = {row.period_start: round(row.revenue * 100) for row in mart.itertuples()}
    assert got == {month: int(cents) for month, cents in books.items()}
