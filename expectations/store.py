"""``quality.validation_results``: every expectation of every gate run, for BI to chart data quality over time.

A gate run replaces its own rows, keyed by (run_date, gate, target), in one transaction: re-running a day changes
nothing, and the landing gates of different sources (parallel tasks) never touch each other's rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date

import psycopg

from expectations.results import Finding, jsonable

# Serialises DDL between gate tasks that start at the same moment (create-if-not-exists is not atomic).
DDL_LOCK_KEY = 7_263_115
# Gates in pipeline order; a gate appears in the summary once it has recorded results.
GATES = ("landing", "warehouse", "actions")

DDL = """
create schema if not exists quality;
create table if not exists quality.validation_results (
    result_id bigserial primary key,
    run_date date not null,
    gate text not null,
    target text not null,
    suite text not null,
    check_name text not null,
    expectation text not null,
    column_name text,
    success boolean,
    observed_value text,
    severity text not null check (severity in ('critical', 'warning')),
    details jsonb,
    run_id text,
    recorded_at timestamptz not null default now()
);
create index if not exists validation_results_run_idx on quality.validation_results (run_date, gate, target);
comment on table quality.validation_results is
    'One row per expectation per gate run. target: the landing source or the warehouse table. '
    'success is null when the check was not evaluated (details->>''note'' says why). '
    'severity critical: a failure stops the run; warning: recorded, the run continues.';
create table if not exists quality.feature_profiles (
    run_date date not null,
    table_name text not null,
    feature text not null,
    as_of_date date,
    row_count bigint not null,
    null_count bigint not null,
    mean double precision,
    stddev double precision,
    edges double precision[] not null,
    fractions double precision[] not null,
    recorded_at timestamptz not null default now(),
    primary key (run_date, table_name, feature)
);
comment on table quality.feature_profiles is
    'Distribution of each key feature per run (quantile bin edges and the share of rows per bin), the '
    'baseline the next run''s drift check (population stability index) compares against.';
"""


def ensure_quality_schema(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
        conn.execute(DDL)


def write_results(
    conn: psycopg.Connection,
    run_date: date,
    gate: str,
    targets: Iterable[str],
    findings: list[Finding],
    run_id: str | None = None,
) -> int:
    """Replace the rows of (run_date, gate, target) for every target this gate run covered."""
    targets = sorted(set(targets) | {f.target for f in findings})
    ensure_quality_schema(conn)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(
            "delete from quality.validation_results where run_date = %s and gate = %s and target = any(%s)",
            (run_date, gate, targets),
        )
        cur.executemany(
            "insert into quality.validation_results (run_date, gate, target, suite, check_name, expectation, "
            "column_name, success, observed_value, severity, details, run_id) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    run_date,
                    gate,
                    f.target,
                    f.suite,
                    f.check,
                    f.expectation,
                    f.column,
                    f.success,
                    f.observed,
                    f.severity,
                    json.dumps(jsonable({**f.details, "hint": f.hint})),
                    run_id,
                )
                for f in findings
            ],
        )
    return len(findings)


def format_gate_summary(conn: psycopg.Connection, run_date: date) -> str:
    """One line per gate: expectations evaluated, failed critical / failed warning, status."""
    exists = conn.execute("select to_regclass('quality.validation_results') is not null").fetchone()[0]
    rows = []
    if exists:
        rows = conn.execute(
            "select gate, count(distinct target), count(success), "
            "count(*) filter (where success is false and severity = 'critical'), "
            "count(*) filter (where success is false and severity = 'warning'), "
            "count(*) filter (where success is null) "
            "from quality.validation_results where run_date = %s group by gate",
            (run_date,),
        ).fetchall()
    by_gate = {row[0]: row[1:] for row in rows}
    lines = []
    for gate in [g for g in GATES if g in by_gate] + sorted(set(by_gate) - set(GATES)):
        targets, evaluated, critical, warning, skipped = by_gate[gate]
        status = "FAILED" if critical else ("PASSED with warnings" if warning else "PASSED")
        skipped_text = f", {skipped} not evaluated" if skipped else ""
        lines.append(
            f"{gate:<10} {status:<20} {evaluated:>5} expectations on {targets} target(s): "
            f"{critical} critical failed, {warning} warning(s){skipped_text}"
        )
    return "\n".join(lines) if lines else f"no quality gate results for {run_date}"
