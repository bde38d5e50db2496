"""Publish a night's selected actions: the contract tables in one transaction, and the outbox files beside them.

A consumer never sees half a batch and a failed publish changes nothing:

1. the contract tables are checked against ``contract.py`` (a drifted column stops the publish with a message);
2. in one transaction, each channel's rows of the run date are replaced from ``actions.decisions`` (outcome
   selected), read back, and written to hidden staging folders as CSV and Parquet with a ``_manifest.json``;
3. still inside the transaction, each staging folder takes the place of ``<outbox>/<channel>/dt=<run_date>``
   (the previous folder is kept aside); then the transaction commits and the previous folders are removed.

Any error before the commit rolls the tables back and puts the previous folders back. The actions gate must have
passed for the run date first (``require_gate``), so a batch that failed its checks is never published.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from proactive_crm.actions import contract
from proactive_crm.actions.store import ensure_actions_schema, record_contract_version, table_exists

log = logging.getLogger(__name__)

ARROW = {
    "string": pa.string(),
    "date32": pa.date32(),
    "int32": pa.int32(),
    "decimal128(14,4)": pa.decimal128(14, 4),
    "timestamp[us, tz=UTC]": pa.timestamp("us", tz="UTC"),
}


class PublishError(RuntimeError):
    """The batch cannot be published; the message says why and what to do."""


@dataclass
class PublishResult:
    run_date: date
    counts: dict[str, int]
    outbox: Path
    published_at: datetime

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        return f"published actions for {self.run_date}: {counts}; files under {self.outbox}"


def arrow_schema(channel: str) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW[c.arrow], nullable=False) for c in contract.columns(channel)])


def check_contract(conn: psycopg.Connection) -> None:
    problems = []
    for channel in contract.TABLES:
        schema, name = contract.table_name(channel).split(".")
        rows = conn.execute(
            "select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns "
            "where table_schema = %s and table_name = %s",
            (schema, name),
        ).fetchall()
        observed = {r[0]: contract.observed_type(r[1], r[2], r[3]) for r in rows}
        problems += contract.type_mismatches(channel, observed)
    if problems:
        raise PublishError(
            "the published tables do not match the actions contract; nothing was published:\n- "
            + "\n- ".join(problems)
            + "\nMigrate the tables to the contract (or release a new contract version in "
            "proactive_crm/actions/contract.py) before publishing."
        )


def check_gate(conn: psycopg.Connection, run_date: date) -> None:
    if not table_exists(conn, "quality.validation_results"):
        raise PublishError(f"the actions gate has not run for {run_date}: run it before publishing")
    evaluated, failed = conn.execute(
        "select count(*), count(*) filter (where success = false and severity = 'critical') "
        "from quality.validation_results where gate = 'actions' and run_date = %s",
        (run_date,),
    ).fetchone()
    if evaluated == 0:
        raise PublishError(f"the actions gate has not run for {run_date}: run it before publishing")
    if failed:
        raise PublishError(
            f"the actions gate failed for {run_date} ({failed} critical expectation(s)); nothing was published. "
            f"See: select * from quality.validation_results where gate = 'actions' and run_date = '{run_date}'"
        )


def _select(channel: str) -> str:
    address = contract.ADDRESS_COLUMN[channel]
    extra = ", time_zone" if channel == "call_center" else ""
    return f"""
    select action_id, run_date, as_of_date, customer_id, contact_address as {address}, action_type, priority_rank,
        round(expected_value, 4) as score, reason, template_id, personalisation, send_after, expires_at,
        model_versions, ranking_method, %(version)s::text as contract_version,
        %(published_at)s::timestamptz as published_at{extra}
    from actions.decisions
    where run_date = %(run_date)s and outcome = 'selected' and channel = %(channel)s
    order by priority_rank, action_id
    """


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def _arrow_value(value: object) -> object:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.0001"))
    return value


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_files(folder: Path, channel: str, names: list[str], rows: list[tuple], run_date: date,
                published_at: datetime) -> None:
    """CSV and Parquet of one channel's batch, then the manifest (a consumer waits for the manifest)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "actions.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([_text(v) for v in row] for row in rows)
    columns = {name: [_arrow_value(row[i]) for row in rows] for i, name in enumerate(names)}
    table = pa.table(columns, schema=arrow_schema(channel))
    pq.write_table(table, folder / "actions.parquet")
    manifest = {
        "run_date": run_date.isoformat(),
        "channel": channel,
        "table": contract.table_name(channel),
        "contract_version": contract.CONTRACT_VERSION,
        "rows": len(rows),
        "published_at": published_at.isoformat(),
        "files": {name: _sha256(folder / name) for name in ("actions.csv", "actions.parquet")},
    }
    (folder / "_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


@dataclass
class _Swap:
    """One outbox folder replaced by its staged successor; undone on failure, the previous one removed on success."""

    target: Path
    staged: Path
    previous: Path | None = None
    applied: bool = False

    def apply(self) -> None:
        if self.target.exists():
            self.previous = self.target.with_name(f".{self.target.name}.previous-{os.getpid()}")
            shutil.rmtree(self.previous, ignore_errors=True)
            os.replace(self.target, self.previous)
        os.replace(self.staged, self.target)
        self.applied = True

    def undo(self) -> None:
        if self.applied:
            shutil.rmtree(self.target, ignore_errors=True)
        if self.previous is not None and self.previous.exists():
            os.replace(self.previous, self.target)
        shutil.rmtree(self.staged, ignore_errors=True)

    def finish(self) -> None:
        if self.previous is not None:
            shutil.rmtree(self.previous, ignore_errors=True)


def publish_channel(conn: psycopg.Connection, channel: str, run_date: date, published_at: datetime,
                    staging: Path) -> int:
    """Replace the channel's rows of the run date and write its files to ``staging`` (inside the caller's
    transaction)."""
    table = contract.table_name(channel)
    params = {"run_date": run_date, "channel": channel, "version": contract.CONTRACT_VERSION,
              "published_at": published_at}
    names = [c.name for c in contract.columns(channel)]
    conn.execute(f"delete from {table} where run_date = %s", (run_date,))
    conn.execute(f"insert into {table} ({', '.join(names)}) {_select(channel)}", params)
    rows = conn.execute(
        f"select {', '.join(names)} from {table} where run_date = %s order by priority_rank, action_id", (run_date,)
    ).fetchall()
    write_files(staging, channel, names, rows, run_date, published_at)
    return len(rows)


def publish(
    conn: psycopg.Connection,
    run_date: date,
    outbox: Path,
    require_gate: bool = True,
) -> PublishResult:
    ensure_actions_schema(conn)
    check_contract(conn)
    if require_gate:
        check_gate(conn, run_date)
    published_at = datetime.now(UTC).replace(microsecond=0)
    swaps: list[_Swap] = []
    counts: dict[str, int] = {}
    try:
        with conn.transaction():
            for channel in contract.TABLES:
                target = outbox / channel / f"dt={run_date.isoformat()}"
                staged = target.with_name(f".{target.name}.staging-{os.getpid()}")
                shutil.rmtree(staged, ignore_errors=True)
                swaps.append(_Swap(target, staged))
                counts[channel] = publish_channel(conn, channel, run_date, published_at, staged)
            record_contract_version(conn)
            conn.execute(
                "insert into actions.publications (run_date, published_at, contract_version, count_email, count_sms, "
                "count_call_center, outbox_dir) values (%s, %s, %s, %s, %s, %s, %s) on conflict (run_date) do update "
                "set published_at = excluded.published_at, contract_version = excluded.contract_version, "
                "count_email = excluded.count_email, count_sms = excluded.count_sms, "
                "count_call_center = excluded.count_call_center, outbox_dir = excluded.outbox_dir",
                (run_date, published_at, contract.CONTRACT_VERSION, counts["email"], counts["sms"],
                 counts["call_center"], str(outbox)),
            )
            for swap in swaps:
                swap.apply()
    except BaseException:
        for swap in reversed(swaps):
            swap.undo()
        raise
    for swap in swaps:
        swap.finish()
    result = PublishResult(run_date, counts, outbox, published_at)
    log.info("%s", result.summary())
    return result
