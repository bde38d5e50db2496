"""Retention: personal data kept no longer than configured, applied each night after publishing.

``retention:`` in the pipeline configuration, in days before the business day (defaults below):
raw web events (by the partition they arrived in), rejected rows (every ``*_rejected`` table), decisions
(``actions.decisions`` by run date) and outbox folders (``<outbox>/<channel>/dt=<date>``). Each night's deletions
are recorded in ``ops.retention_runs`` and shown in the run summary. ``raw.load_audit`` keeps its rows: it records
what each file delivered, and a file already loaded is not loaded again after its rows expire.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from proactive_crm.config import ConfigError, Settings
from proactive_crm.landing.contract import SOURCES
from proactive_crm.landing.raw_tables import rejected_schema, rejected_table

DEFAULT_DAYS = {"web_events": 400, "rejected_rows": 400, "decisions": 400, "outbox_files": 30}

DDL = """
create schema if not exists ops;
create table if not exists ops.retention_runs (
    run_date date not null,
    target text not null,
    retention_days integer not null,
    cutoff_date date not null,
    rows_deleted bigint not null,
    recorded_at timestamptz not null default now(),
    primary key (run_date, target)
);
"""


def retention_days(settings: Settings) -> dict[str, int]:
    configured = settings.section("retention")
    unknown = sorted(set(configured) - set(DEFAULT_DAYS))
    if unknown:
        raise ConfigError(
            f"{settings.config_path}: retention has unknown keys {unknown}; known: {sorted(DEFAULT_DAYS)}"
        )
    days = {**DEFAULT_DAYS, **configured}
    for key, value in days.items():
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"{settings.config_path}: retention.{key} must be a whole number of days >= 1")
    return days


@dataclass
class Deleted:
    target: str
    days: int
    cutoff: date
    rows: int


def _delete(conn: psycopg.Connection, relation: tuple[str, str], column: str, cutoff: date) -> int:
    if conn.execute("select to_regclass(%s)", (".".join(relation),)).fetchone()[0] is None:
        return 0
    return conn.execute(
        sql.SQL("delete from {} where {} < %s").format(sql.Identifier(*relation), sql.Identifier(column)), (cutoff,)
    ).rowcount


def _expire_outbox(outbox: Path, cutoff: date) -> int:
    removed = 0
    for folder in sorted(outbox.glob("*/dt=*")) if outbox.is_dir() else []:
        try:
            day = date.fromisoformat(folder.name.removeprefix("dt="))
        except ValueError:
            continue  # not a batch folder of ours
        if day < cutoff:
            shutil.rmtree(folder)
            removed += 1
    return removed


def apply_retention(conn: psycopg.Connection, run_date: date, settings: Settings, outbox: Path | None) -> list[Deleted]:
    """Delete what is older than its retention before ``run_date``; one transaction for the tables."""
    days = retention_days(settings)
    cut = {key: run_date - timedelta(days=value) for key, value in days.items()}
    done: list[Deleted] = []
    with conn.transaction():
        conn.execute(DDL)
        rows = _delete(conn, ("raw", "web_events"), "_partition_date", cut["web_events"])
        done.append(Deleted("raw.web_events", days["web_events"], cut["web_events"], rows))
        rejected = sum(
            _delete(conn, (rejected_schema(s), rejected_table(s)), "_partition_date", cut["rejected_rows"])
            for s in SOURCES.values()
        )
        done.append(Deleted("rejected rows", days["rejected_rows"], cut["rejected_rows"], rejected))
        rows = _delete(conn, ("actions", "decisions"), "run_date", cut["decisions"])
        done.append(Deleted("actions.decisions", days["decisions"], cut["decisions"], rows))
        folders = _expire_outbox(outbox, cut["outbox_files"]) if outbox is not None else 0
        done.append(Deleted("outbox folders", days["outbox_files"], cut["outbox_files"], folders))
        for d in done:
            conn.execute(
                "insert into ops.retention_runs (run_date, target, retention_days, cutoff_date, rows_deleted) "
                "values (%s, %s, %s, %s, %s) on conflict (run_date, target) do update set "
                "retention_days = excluded.retention_days, cutoff_date = excluded.cutoff_date, "
                "rows_deleted = excluded.rows_deleted, recorded_at = now()",
                (run_date, d.target, d.days, d.cutoff, d.rows),
            )
    return done


def format_retention_summary(conn: psycopg.Connection, run_date: date) -> str:
    if conn.execute("select to_regclass('ops.retention_runs')").fetchone()[0] is None:
        return "retention has not run in this warehouse yet"
    rows = conn.execute(
        "select target, retention_days, cutoff_date, rows_deleted from ops.retention_runs where run_date = %s "
        "order by target",
        (run_date,),
    ).fetchall()
    if not rows:
        return f"retention did not run for {run_date}"
    return "\n".join(
        f"  {target:<20} kept {days:>4} days (before {cutoff} deleted): {n:,} "
        + ("folder(s)" if "outbox" in target else "row(s)")
        for target, days, cutoff, n in rows
    )
