"""The run summary a person reads after a nightly run: what was loaded and rejected, and how long it took."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import psycopg

from proactive_crm.landing.contract import SOURCES
from proactive_crm.landing.discovery import discover
from proactive_crm.landing.raw_tables import rejected_relation


def count_landing_rows(landing_dir: Path, up_to: date) -> dict[str, int]:
    """Data records per source in the landing files (header and blank lines excluded), for reconciliation."""
    counts: dict[str, int] = {}
    for source in SOURCES.values():
        total = 0
        for file in discover(landing_dir, source, up_to):
            opener = gzip.open if file.compressed else open
            with opener(file.path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
                lines = sum(1 for line in handle if line.strip())
            total += lines - 1 if file.format == "csv" else lines
        if total:
            counts[source.name] = total
    return counts


def load_accounting(conn: psycopg.Connection) -> list[tuple]:
    """Per source, over the current (not superseded) loads: files, rows read, loaded, rejected, erased (rows of
    customers on the erasure list), failed files."""
    return conn.execute(
        """
        select
            source,
            count(*) filter (where status = 'loaded') as files_loaded,
            coalesce(sum(rows_read) filter (where status = 'loaded'), 0) as rows_read,
            coalesce(sum(rows_loaded) filter (where status = 'loaded'), 0) as rows_loaded,
            coalesce(sum(rows_rejected) filter (where status = 'loaded'), 0) as rows_rejected,
            coalesce(sum(rows_erased) filter (where status = 'loaded'), 0) as rows_erased,
            count(*) filter (where status = 'failed') as files_failed
        from raw.load_audit
        where superseded_by is null
        group by source
        order by source
        """
    ).fetchall()


def top_rejection_reasons(conn: psycopg.Connection, limit: int = 5) -> list[tuple[str, str, int]]:
    parts = [
        f"select '{s}' as source, split_part(split_part(reason, ' (found', 1), ' (value withheld', 1) as reason "
        f"from {rejected_relation(s)}"
        for s in SOURCES
    ]
    return conn.execute(
        f"select source, reason, count(*) from ({' union all '.join(parts)}) r "
        f"group by 1, 2 order by 3 desc limit {int(limit)}"
    ).fetchall()


def dbt_timings(conn: psycopg.Connection, run_date: date, limit: int = 5) -> list[tuple[str, str, float]]:
    return conn.execute(
        """
        select split_part(unique_id, '.', 3), status, execution_seconds
        from ops.dbt_node_runs
        where run_date = %s and resource_type in ('model', 'snapshot', 'seed')
        order by recorded_at desc, execution_seconds desc
        limit %s
        """,
        (run_date, limit),
    ).fetchall()


def format_load_summary(conn: psycopg.Connection, landing_counts: dict[str, int] | None = None) -> str:
    if conn.execute("select to_regclass('raw.load_audit')").fetchone()[0] is None:
        return "nothing has been loaded into this warehouse yet (no raw.load_audit): did the ingest tasks run?"
    rows = load_accounting(conn)
    header = f"{'source':<17}{'in files':>11}{'read':>11}{'loaded':>11}{'rejected':>10}{'erased':>8}{'files':>7}  check"
    lines = [header, "-" * len(header)]
    for source, files, read, loaded, rejected, erased, failed in rows:
        expected = (landing_counts or {}).get(source)
        ok = read == loaded + rejected + erased and (expected is None or expected == read) and not failed
        check = "ok" if ok else "MISMATCH"
        if failed:
            check += f" ({failed} file(s) failed)"
        shown = f"{expected:,}" if expected is not None else "-"
        lines.append(
            f"{source:<17}{shown:>11}{read:>11,}{loaded:>11,}{rejected:>10,}{erased:>8,}{files:>7}  {check}"
        )
    return "\n".join(lines)
