"""The nightly warehouse build after one new day, next to a full rebuild of the same data, and their ratio.

    .venv/bin/python benchmarks/dbt_incremental.py [--customers 20000] [--days 365] [--seed 42] [--landing DIR]

Generates a retailer (or reuses --landing, a generated folder), loads the history up to the day before the end into a
scratch database on the configured warehouse and builds it (the first night). Then the last day is loaded and
timed two ways on the same data: the nightly build of the warehouse layers (nightly.build_warehouse: incremental
models and the data tests) and the same build with --full-refresh (every incremental model rebuilt from all of
its input). Both include dbt's start-up and parsing, as a night does; the model time (models and snapshots,
summed) is printed too, with where the time goes and the rows the incremental web models processed.
Benchmarks print figures; nothing asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

from devtools.synth.config import SynthConfig
from devtools.synth.simulate import generate
from proactive_crm.config import load_settings
from proactive_crm.dbt_runner import NodeResult, read_run_results, run_dbt, target_dir
from proactive_crm.landing.contract import SOURCES
from proactive_crm.landing.ingest import ingest_source
from proactive_crm.tasks.nightly import WAREHOUSE_SELECTOR, analyze_raw, build_layer, build_warehouse
from proactive_crm.warehouse import warehouse_url

END = date(2026, 10, 31)
WEB_MODELS = ("int_web_events_sessionized", "int_web_session_days_aggregated", "int_web_sessions_aggregated")


def load(url: str, up_to: date) -> float:
    started = time.perf_counter()
    settings = load_settings()
    with psycopg.connect(url) as conn:
        for source in SOURCES:
            ingest_source(conn, source, up_to, settings)
    return time.perf_counter() - started


def timed(build, *args, **kwargs) -> tuple[float, list[NodeResult], float]:
    """Wall seconds of a build, its node results, and the seconds dbt spent before running nodes (start-up, parse)."""
    started = time.perf_counter()
    build(*args, **kwargs)
    elapsed = time.perf_counter() - started
    path = target_dir(load_settings()) / "run_results.json"
    _, results = read_run_results(path)
    executing = float(json.loads(path.read_text(encoding="utf-8")).get("elapsed_time") or 0.0)
    return elapsed, results, elapsed - executing


def seconds_by_type(results: list[NodeResult]) -> str:
    totals: dict[str, float] = {}
    for r in results:
        totals[r.resource_type] = totals.get(r.resource_type, 0.0) + r.execution_seconds
    return ", ".join(f"{kind} {seconds:.1f}s" for kind, seconds in sorted(totals.items()))


def full_rebuild(run_date: date) -> None:
    """The nightly build with --full-refresh: the same nodes and tests, every incremental model rebuilt."""
    settings = load_settings()
    analyze_raw()
    os.environ["DBT_EXCLUDE_RESOURCE_TYPES"] = "unit_test"  # as nightly.build_warehouse does
    try:
        args = ["build", "--select", WAREHOUSE_SELECTOR, "--full-refresh"]
        code, _, _ = run_dbt(args, warehouse_url(), settings, run_date)
    finally:
        del os.environ["DBT_EXCLUDE_RESOURCE_TYPES"]
    if code != 0:
        raise SystemExit(f"full rebuild failed (exit {code}); see {settings.state_dir / 'dbt' / 'logs'}")


def model_seconds(results: list[NodeResult]) -> float:
    return sum(r.execution_seconds for r in results if r.resource_type in ("model", "snapshot"))


def rows(results: list[NodeResult], model: str) -> int:
    return next((r.rows_affected or 0) for r in results if r.unique_id.endswith(f".{model}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--landing", type=Path, help="a folder written by devtools.synth (skips generating)")
    args = parser.parse_args()

    server = warehouse_url()
    dbname = f"crm_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'create database "{dbname}"')
    url = urlunparse(urlparse(server)._replace(path=f"/{dbname}"))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            landing = args.landing or Path(tmp) / "landing"
            if args.landing is None:
                print(f"generating {args.customers:,} customers x {args.days} days ...", flush=True)
                generate(SynthConfig(args.customers, args.days, args.seed, landing, END, quiet=True))
            os.environ.update(
                CRM_WAREHOUSE_URL=url,
                CRM_LANDING_DIR=str(landing),
                CRM_STATE_DIR=str(Path(tmp) / "state"),
                DBT_QUIET="true",  # dbt's per-node log lines; errors still show
            )
            end = max(date.fromisoformat(p.name[3:]) for p in (landing / "orders").glob("dt=*"))
            history = end - timedelta(days=1)
            print(f"loading the history up to {history} ... {load(url, history):.0f} s", flush=True)
            first, _, _ = timed(build_layer, f"staging {WAREHOUSE_SELECTOR}", history)
            print(f"first night (full build of {history}): {first:.0f} s", flush=True)
            print(f"loading {end} ... {load(url, end):.1f} s", flush=True)
            nightly, nightly_results, nightly_startup = timed(build_warehouse, end)
            full, full_results, full_startup = timed(full_rebuild, end)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{dbname}" with (force)')

    print(f"\nwarehouse build ({WAREHOUSE_SELECTOR}) for {end}, {os.cpu_count()} cores")
    print(f"  {'':<34} {'wall':>8} {'models':>8}")
    print(f"  {'full rebuild (same, --full-refresh)':<34} {full:7.1f}s {model_seconds(full_results):7.1f}s")
    print(f"  {'nightly incremental (new day)':<34} {nightly:7.1f}s {model_seconds(nightly_results):7.1f}s")
    model_ratio = model_seconds(nightly_results) / model_seconds(full_results)
    print(f"  {'ratio incremental / full':<34} {nightly / full:8.2f} {model_ratio:8.2f}")
    print("\nwhere the time goes (node seconds are summed over dbt's threads):")
    print(f"  full:    dbt start-up and parsing {full_startup:.1f}s; {seconds_by_type(full_results)}")
    print(f"  nightly: dbt start-up and parsing {nightly_startup:.1f}s; {seconds_by_type(nightly_results)}")
    print("\nrows processed by the incremental web models (nightly vs full):")
    for model in WEB_MODELS:
        print(f"  {model:<34} {rows(nightly_results, model):>10,} {rows(full_results, model):>12,}")
    slowest = sorted(full_results, key=lambda r: r.execution_seconds, reverse=True)[:8]
    print("\nslowest nodes of the full rebuild (and the same nodes nightly):")
    nightly_by_id = {r.unique_id: r.execution_seconds for r in nightly_results}
    for r in slowest:
        print(f"  {r.execution_seconds:7.2f}s {nightly_by_id.get(r.unique_id, 0):7.2f}s  {r.unique_id}")


if __name__ == "__main__":
    main()
