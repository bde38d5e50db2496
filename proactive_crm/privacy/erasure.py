"""Erasure of customers (GDPR art. 17, CCPA right to delete): ``python -m proactive_crm erase --customer-id ...``.

In one transaction: the ids (hashed), their order ids and the web visitor ids they logged in under go on the
erasure list (``restricted.erasure_list``); their rows are deleted from the raw tables (each file's audit moves them
to ``rows_erased``), from the rejected rows whose raw text mentions them, and from every other table of the
warehouse that has a ``customer_id``, ``order_id`` or ``anonymous_id`` column (staging is views; intermediate
tables, snapshots, marts, ML features and scores, decisions, outbound tables); quality results that quote them
have the id replaced. Then the outbox files are rewritten without their rows. The loader keeps them out of every
later load (``proactive_crm.landing.erased_rows``).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from proactive_crm.landing.contract import SOURCES
from proactive_crm.landing.erased_rows import IDENTIFYING
from proactive_crm.landing.erasure_list import add_keys, ensure_erasure_list, key_hash, read_erased_keys
from proactive_crm.landing.raw_purge import purge_raw, purge_rejected

log = logging.getLogger(__name__)

KEY_COLUMNS = {"customer_id": "customer", "order_id": "order", "anonymous_id": "visitor"}
# Tables that are the erasure list or that lineage-only tables never hold the person: left alone.
SKIP_SCHEMAS = ("pg_catalog", "information_schema", "raw")


@dataclass
class ErasureReport:
    customers: int
    newly_listed: int
    deleted: dict[str, int] = field(default_factory=dict)  # table or file -> rows deleted
    scrubbed_results: int = 0

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    def summary(self) -> str:
        tables = ", ".join(f"{name} {n:,}" for name, n in sorted(self.deleted.items()) if n) or "nothing"
        return (
            f"erased {self.customers} customer(s) ({self.newly_listed} new key(s) on the erasure list); rows "
            f"deleted: {tables}; quality results scrubbed: {self.scrubbed_results}"
        )


def _linked_ids(conn: psycopg.Connection, customer_ids: list[str]) -> dict[str, set[str]]:
    """Order ids and web visitor ids of the customers, from the raw layer and the marts (whichever exist)."""
    found: dict[str, set[str]] = {"order": set(), "visitor": set()}
    for relation, column, kind in (
        ("raw.orders", "order_id", "order"),
        ("core.fct_orders", "order_id", "order"),
        ("raw.web_events", "anonymous_id", "visitor"),
        ("intermediate.int_web_identities_stitched", "anonymous_id", "visitor"),
    ):
        schema, table = relation.split(".")
        exists = conn.execute(
            "select 1 from information_schema.columns where table_schema = %s and table_name = %s "
            "and column_name in ('customer_id') ",
            (schema, table),
        ).fetchone()
        if exists:
            rows = conn.execute(
                sql.SQL("select distinct {} from {} where customer_id = any(%s)").format(
                    sql.Identifier(column), sql.Identifier(schema, table)
                ),
                (customer_ids,),
            ).fetchall()
            found[kind].update(r[0] for r in rows if r[0])
    return found


def _tables_with_keys(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    return conn.execute(
        "select c.table_schema, c.table_name, c.column_name from information_schema.columns as c "
        "inner join information_schema.tables as t "
        "    on t.table_schema = c.table_schema and t.table_name = c.table_name "
        "where t.table_type = 'BASE TABLE' and c.column_name = any(%s) and c.table_schema <> all(%s) "
        "and c.table_schema not like 'pg\\_%%' and not (c.table_schema = 'restricted' and c.table_name "
        "= 'erasure_list') order by 1, 2, 3",
        (list(KEY_COLUMNS), list(SKIP_SCHEMAS)),
    ).fetchall()


def _scrub_quality(conn: psycopg.Connection, ids: Iterable[str]) -> int:
    """Quality results keep their counts; an example that quotes an erased id has the id replaced."""
    if conn.execute("select to_regclass('quality.validation_results')").fetchone()[0] is None:
        return 0
    scrubbed = 0
    for value in ids:
        scrubbed += conn.execute(
            "update quality.validation_results set "
            "details = replace(details::text, %(id)s, '(erased)')::jsonb, "
            "observed_value = replace(observed_value, %(id)s, '(erased)') "
            "where details::text like %(like)s or observed_value like %(like)s",
            {"id": value, "like": "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"},
        ).rowcount
    return scrubbed


def scrub_outbox(outbox: Path, customer_ids: set[str]) -> dict[str, int]:
    """Rewrite every outbox batch (CSV, Parquet, manifest) without the customers' rows."""
    import hashlib

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    deleted: dict[str, int] = {}
    if not outbox.is_dir():
        return deleted
    for folder in sorted(p.parent for p in outbox.glob("*/dt=*/_manifest.json")):
        removed = 0
        csv_path, parquet_path = folder / "actions.csv", folder / "actions.parquet"
        if csv_path.exists():
            with open(csv_path, encoding="utf-8", newline="") as handle:
                rows = list(csv.reader(handle))
            if rows:
                at = rows[0].index("customer_id")
                kept = [rows[0]] + [r for r in rows[1:] if r[at] not in customer_ids]
                removed = len(rows) - len(kept)
                if removed:
                    with open(csv_path, "w", encoding="utf-8", newline="") as handle:
                        csv.writer(handle, lineterminator="\n").writerows(kept)
        if parquet_path.exists():
            table = pq.read_table(parquet_path)
            keep = pc.invert(pc.is_in(table.column("customer_id"), value_set=pa.array(sorted(customer_ids))))
            if table.num_rows != pc.sum(keep.cast("int64")).as_py():
                pq.write_table(table.filter(keep), parquet_path)
        if removed:
            manifest_path = folder / "_manifest.json"
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            manifest["rows"] = int(manifest.get("rows", 0)) - removed
            manifest["files"] = {
                name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in manifest.get("files", {})
            }
            manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
            deleted[str(folder)] = removed
    return deleted


def erase_customers(conn: psycopg.Connection, customer_ids: Iterable[str], outbox: Path | None = None) -> ErasureReport:
    """Erase the customers everywhere in the warehouse (one transaction), then from the outbox files."""
    ids = sorted({c.strip() for c in customer_ids if c and c.strip()})
    if not ids:
        raise ValueError("no customer id given: pass --customer-id ID (repeatable) or --file with one id a line")
    with conn.transaction():
        ensure_erasure_list(conn)
        linked = _linked_ids(conn, ids)
        newly = add_keys(conn, "customer", ids)
        for kind, values in linked.items():
            newly += add_keys(conn, kind, values)
        values_by_kind = {"customer": set(ids), **linked}
        report = ErasureReport(len(ids), newly)
        for source, columns in IDENTIFYING.items():
            for column, kind in columns:
                n = purge_raw(conn, source, column, values_by_kind[kind])
                report.deleted[f"raw.{source}"] = report.deleted.get(f"raw.{source}", 0) + n
        hashes = read_erased_keys(conn).all & {key_hash(v) for vs in values_by_kind.values() for v in vs}
        for source in SOURCES:
            name = f"{source}_rejected"
            report.deleted[name] = purge_rejected(conn, source, hashes)
        for schema, table, column in _tables_with_keys(conn):
            values = sorted(values_by_kind[KEY_COLUMNS[column]])
            if not values:
                continue
            n = conn.execute(
                sql.SQL("delete from {} where {} = any(%s)").format(
                    sql.Identifier(schema, table), sql.Identifier(column)
                ),
                (values,),
            ).rowcount
            report.deleted[f"{schema}.{table}"] = report.deleted.get(f"{schema}.{table}", 0) + n
        report.scrubbed_results = _scrub_quality(conn, ids)
    if outbox is not None:
        for folder, n in scrub_outbox(outbox, set(ids)).items():
            report.deleted[folder] = n
    log.info("%s", report.summary())
    return report
