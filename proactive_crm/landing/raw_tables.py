"""DDL of the raw layer, derived from the landing contract.

``raw.<source>`` holds the typed contract columns plus lineage (source file, partition date, line number, load
id) and ``_extra``, a JSON object of any columns the contract does not know (kept, not refused).
``raw.<source>_rejected`` keeps every row that failed with its raw text and reason (the customers' in
``restricted.customers_rejected``: their raw text holds contact details); ``raw.load_audit`` records every file
load (with the file's stat, so that unchanged files are not read again), and ``rows_erased`` counts the rows
dropped because their customer asked to be erased (``proactive_crm.privacy``). New contract columns are added in
place, so an upgrade never needs a rebuild.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from proactive_crm.landing.contract import PG_TYPES, SOURCES, Source

LINEAGE_COLUMNS = {
    "_extra": "jsonb",
    "_source_file": "text not null",
    "_partition_date": "date not null",
    "_line_number": "integer not null",
    "_load_id": "bigint not null",
}

AUDIT_DDL = """
create table if not exists raw.load_audit (
    load_id bigserial primary key,
    run_id text,
    source text not null,
    partition_date date not null,
    source_file text not null,
    checksum text,
    file_bytes bigint,
    file_mtime_ns bigint,
    file_ctime_ns bigint,
    rows_read integer,
    rows_loaded integer,
    rows_rejected integer,
    rows_erased integer not null default 0,
    status text not null check (status in ('loaded', 'failed')),
    error text,
    superseded_by bigint,
    staging_tested_at timestamptz,
    started_at timestamptz not null,
    finished_at timestamptz,
    read_seconds double precision,
    load_seconds double precision
);
create index if not exists load_audit_file_idx on raw.load_audit (source_file, load_id);
comment on table raw.load_audit is
    'One row per landing file load attempt. Invariant: rows_read = rows_loaded + rows_rejected + rows_erased. '
    'superseded_by points at the load that replaced this one when the file was re-delivered. file_bytes, '
    'file_mtime_ns and file_ctime_ns are the file''s stat as last seen with this checksum: a file whose stat still '
    'matches is not read again (proactive_crm.landing.fingerprints).';
"""

# Serialises DDL between ingestion tasks that start at the same moment (create-if-not-exists is not atomic).
DDL_LOCK_KEY = 7_263_114


# Sources whose rejected rows' raw text identifies a person: kept in the restricted schema with the contacts.
RESTRICTED_REJECTS = frozenset({"customers"})


def rejected_table(source: Source) -> str:
    return f"{source.name}_rejected"


def rejected_schema(source: Source | str) -> str:
    name = source if isinstance(source, str) else source.name
    return "restricted" if name in RESTRICTED_REJECTS else "raw"


def rejected_relation(source: Source | str) -> str:
    """Schema-qualified name of a source's rejected rows, e.g. ``raw.orders_rejected``."""
    name = source if isinstance(source, str) else source.name
    return f"{rejected_schema(name)}.{name}_rejected"


def _widen_numeric_columns(conn: psycopg.Connection, source: Source) -> None:
    """Raw tables created before numbers were stored as delivered had numeric(14, 4): lift the scale in place.

    Dropping a numeric typmod needs no table rewrite, so this is instant on any size; values already rounded by an
    earlier load stay as they were until their file is re-delivered.
    """
    fixed = conn.execute(
        "select column_name from information_schema.columns where table_schema = 'raw' and table_name = %s "
        "and data_type = 'numeric' and numeric_scale is not null",
        (source.name,),
    ).fetchall()
    for (name,) in fixed:
        conn.execute(
            sql.SQL("alter table {} alter column {} type numeric").format(
                sql.Identifier("raw", source.name), sql.Identifier(name)
            )
        )


def ensure_raw_schema(conn: psycopg.Connection, sources: list[Source] | None = None) -> None:
    sources = sources or list(SOURCES.values())
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
        conn.execute("create schema if not exists raw")
        conn.execute("create schema if not exists restricted")
        conn.execute(AUDIT_DDL)
        conn.execute("alter table raw.load_audit add column if not exists rows_erased integer not null default 0")
        # When the staging layer's data tests passed with this load's rows in their window (tasks.nightly.build_layer).
        conn.execute("alter table raw.load_audit add column if not exists staging_tested_at timestamptz")
        for stat_column in ("file_mtime_ns", "file_ctime_ns"):  # loads recorded before these are read once more
            conn.execute(sql.SQL("alter table raw.load_audit add column if not exists {} bigint").format(
                sql.Identifier(stat_column)))
        for source in sources:
            table = sql.Identifier("raw", source.name)
            definitions = [(c.name, PG_TYPES[c.type]) for c in source.columns] + list(LINEAGE_COLUMNS.items())
            conn.execute(
                sql.SQL("create table if not exists {} ({})").format(
                    table,
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(ddl)) for name, ddl in definitions
                    ),
                )
            )
            for column in source.columns:  # columns added to the contract after the table was created
                conn.execute(
                    sql.SQL("alter table {} add column if not exists {} {}").format(
                        table, sql.Identifier(column.name), sql.SQL(PG_TYPES[column.type])
                    )
                )
            _widen_numeric_columns(conn, source)
            # Deleting a re-delivered file's earlier load goes through its load id. Load ids only grow and each
            # load is written contiguously, so a BRIN index finds a load's blocks at almost no cost to bulk loads.
            conn.execute(
                sql.SQL("create index if not exists {} on {} using brin (_load_id)").format(
                    sql.Identifier(f"{source.name}_load_id_brin"), table
                )
            )
            conn.execute(
                sql.SQL(
                    "create table if not exists {} (_load_id bigint not null, _source_file text not null, "
                    "_partition_date date not null, _line_number integer not null, raw_record text, "
                    "reason text not null)"
                ).format(sql.Identifier(rejected_schema(source), rejected_table(source)))
            )
