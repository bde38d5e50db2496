"""Deleting an erased person's rows from the raw layer while keeping each file's accounting true.

A deleted row moves from ``rows_loaded`` (or ``rows_rejected``) to ``rows_erased`` of the load that brought it, so
``rows_read = rows_loaded + rows_rejected + rows_erased`` holds for every file, before and after an erasure.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg
from psycopg import sql

from proactive_crm.landing.contract import SOURCES
from proactive_crm.landing.erased_rows import mentions
from proactive_crm.landing.erasure_list import add_keys
from proactive_crm.landing.raw_tables import rejected_schema, rejected_table


def _has_column(cur: psycopg.Cursor | psycopg.Connection, schema: str, table: str, column: str) -> bool:
    return (
        cur.execute(
            "select 1 from information_schema.columns where table_schema = %s and table_name = %s "
            "and column_name = %s",
            (schema, table, column),
        ).fetchone()
        is not None
    )


def _move_counts(cur: psycopg.Cursor | psycopg.Connection, counts: Iterable[tuple[int, int]], column: str) -> None:
    for load_id, n in counts:
        cur.execute(
            sql.SQL("update raw.load_audit set {col} = {col} - %s, rows_erased = rows_erased + %s "
                    "where load_id = %s").format(col=sql.Identifier(column)),
            (n, n, load_id),
        )


def purge_raw(cur: psycopg.Cursor | psycopg.Connection, source: str, column: str, values: Iterable[str]) -> int:
    """Delete ``raw.<source>`` rows whose ``column`` is one of ``values``; returns the rows deleted."""
    values = sorted(set(values))
    if not values or not _has_column(cur, "raw", source, column):
        return 0
    counts = cur.execute(
        sql.SQL(
            "with gone as (delete from {} where {} = any(%s) returning _load_id) "
            "select _load_id, count(*) from gone group by _load_id"
        ).format(sql.Identifier("raw", source), sql.Identifier(column)),
        (values,),
    ).fetchall()
    _move_counts(cur, counts, "rows_loaded")
    return sum(n for _, n in counts)


def purge_rejected(cur: psycopg.Cursor | psycopg.Connection, source: str, hashes: set[str]) -> int:
    """Delete rejected rows whose raw text mentions an erased key (rejected rows have no typed columns)."""
    schema, table = rejected_schema(source), rejected_table_name(source)
    if not hashes or not _has_column(cur, schema, table, "raw_record"):
        return 0
    relation = sql.Identifier(schema, table)
    rows = cur.execute(sql.SQL("select ctid::text, _load_id, raw_record from {}").format(relation)).fetchall()
    hits = [(ctid, load_id) for ctid, load_id, raw in rows if mentions(raw, hashes)]
    if not hits:
        return 0
    cur.execute(sql.SQL("delete from {} where ctid = any(%s::tid[])").format(relation), ([c for c, _ in hits],))
    per_load: dict[int, int] = {}
    for _, load_id in hits:
        per_load[load_id] = per_load.get(load_id, 0) + 1
    _move_counts(cur, per_load.items(), "rows_rejected")
    return len(hits)


def rejected_table_name(source: str) -> str:
    return rejected_table(SOURCES[source])


def forget_linked(cur: psycopg.Cursor | psycopg.Connection, linked: dict[str, set[str]]) -> dict[str, int]:
    """Put identifiers tied to an erased customer on the list and delete what other files loaded under them."""
    deleted: dict[str, int] = {}
    for kind, values in linked.items():
        add_keys(cur, kind, values)
    orders = linked.get("order") or set()
    visitors = linked.get("visitor") or set()
    for source, column, values in (
        ("order_lines", "order_id", orders),
        ("reviews", "order_id", orders),
        ("web_events", "anonymous_id", visitors),
    ):
        if values:
            deleted[f"raw.{source}"] = deleted.get(f"raw.{source}", 0) + purge_raw(cur, source, column, values)
    return deleted
