"""Fast, bounded-memory frames to and from PostgreSQL: ``COPY ... TO STDOUT`` parsed by pyarrow, ``COPY FROM``.

The one home of the warehouse's frame I/O: ``iter_frames`` / ``read_frame`` (ML features and scores),
``read_object_frame`` (the actions' candidates, text as Python objects), ``copy_frame`` (every bulk append).

Row-by-row fetching costs about ten times more for a million wide rows; COPY text streams in blocks, which
``iter_frames`` cuts at line ends so no more than about ``chunk_bytes`` of CSV is held at once.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

# PostgreSQL type names (information_schema.columns.data_type) -> arrow types for the CSV reader
_ARROW_TYPES: dict[str, pa.DataType] = {
    "smallint": pa.int64(),
    "integer": pa.int64(),
    "bigint": pa.int64(),
    "numeric": pa.float64(),
    "real": pa.float64(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "text": pa.string(),
    "character varying": pa.string(),
    "character": pa.string(),
}


def query_types(
    conn: psycopg.Connection, query: sql.Composable | str, params: dict[str, Any] | None = None
) -> dict[str, str]:
    """Column name -> PostgreSQL type name of a query's result, without running it."""
    with conn.cursor() as cur:
        cur.execute(sql.SQL("select * from ({}) q limit 0").format(_as_sql(query)), params)
        names = [d.name for d in cur.description]
        oids = [d.type_code for d in cur.description]
    types = {}
    for name, oid in zip(names, oids, strict=True):
        info = conn.adapters.types.get(oid)
        types[name] = _pg_name(info.name if info else "text")
    return types


def _pg_name(name: str) -> str:
    return {
        "int2": "smallint",
        "int4": "integer",
        "int8": "bigint",
        "float4": "real",
        "float8": "double precision",
        "bool": "boolean",
        "varchar": "character varying",
        "bpchar": "character",
    }.get(name, name)


def _as_sql(query: sql.Composable | str) -> sql.Composable:
    return sql.SQL(query) if isinstance(query, str) else query  # type: ignore[arg-type]


def _convert_options(types: dict[str, str]) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(
        column_types={k: _ARROW_TYPES.get(v, pa.string()) for k, v in types.items()},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t"],
        false_values=["f"],
    )


def _parse(block: bytes, names: list[str], options: pacsv.ConvertOptions) -> pd.DataFrame:
    table = pacsv.read_csv(
        io.BytesIO(block),
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
        convert_options=options,
    )
    return table.to_pandas(date_as_object=False)


def iter_frames(
    conn: psycopg.Connection,
    query: sql.Composable | str,
    params: dict[str, Any] | None = None,
    chunk_bytes: int = 32 << 20,
) -> Iterator[pd.DataFrame]:
    """Stream a query's result as DataFrames of roughly ``chunk_bytes`` of CSV each (an empty result yields none).

    Text columns must not contain line breaks (ids, categories, codes): blocks are cut at newlines.
    """
    types = query_types(conn, query, params)
    names = list(types)
    options = _convert_options(types)
    copy_sql = sql.SQL("copy ({}) to stdout with (format csv)").format(_as_sql(query))
    pending = bytearray()
    with conn.cursor() as cur, cur.copy(copy_sql, params) as copy:
        for data in copy:
            pending += data
            if len(pending) >= chunk_bytes:
                cut = pending.rfind(b"\n") + 1
                yield _parse(bytes(pending[:cut]), names, options)
                del pending[:cut]
    if pending:
        yield _parse(bytes(pending), names, options)


def read_frame(
    conn: psycopg.Connection, query: sql.Composable | str, params: dict[str, Any] | None = None
) -> pd.DataFrame:
    frames = list(iter_frames(conn, query, params, chunk_bytes=1 << 62))
    if frames:
        return frames[0]
    types = query_types(conn, query, params)
    return pd.DataFrame({k: pd.Series([], dtype=_empty_dtype(v)) for k, v in types.items()})


def _empty_dtype(pg_type: str) -> str:
    arrow = _ARROW_TYPES.get(pg_type, pa.string())
    if pa.types.is_integer(arrow):
        return "int64"
    if pa.types.is_floating(arrow):
        return "float64"
    if pa.types.is_boolean(arrow):
        return "bool"
    if pa.types.is_date(arrow):
        return "datetime64[s]"
    return "object"


def copy_frame(conn: psycopg.Connection, table: str, frame: pd.DataFrame, columns: Sequence[str]) -> int:
    """Append ``frame[columns]`` to ``table`` with COPY (CSV written by pyarrow: nulls empty, text quoted)."""
    if frame.empty:
        return 0
    buffer = io.BytesIO()
    arrow = pa.Table.from_pandas(frame[list(columns)], preserve_index=False)
    pacsv.write_csv(arrow, buffer, write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    target = sql.SQL("copy {} ({}) from stdin with (format csv)").format(
        qualified(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    with conn.cursor() as cur, cur.copy(target) as copy:
        view = buffer.getbuffer()
        for start in range(0, len(view), 1 << 20):
            copy.write(view[start : start + (1 << 20)])
    return len(frame)


def qualified(name: str) -> sql.Composable:
    """``schema.table`` as a quoted identifier pair."""
    return sql.Identifier(*name.split(".", 1))


def table_columns(conn: psycopg.Connection, table: str) -> dict[str, str]:
    """Column name -> data_type of an existing table, in column order (empty when the table does not exist)."""
    schema, name = table.split(".", 1)
    rows = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = %s order by ordinal_position",
        (schema, name),
    ).fetchall()
    return {r[0]: r[1] for r in rows}


_ARROW_BY_TYPE_NAME = {
    "int2": pa.int64(),
    "int4": pa.int64(),
    "int8": pa.int64(),
    "float4": pa.float64(),
    "float8": pa.float64(),
    "numeric": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}


def read_object_frame(conn: psycopg.Connection, query: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """The query's rows as one DataFrame for row-wise Python rules: text columns as objects with ``None`` (never
    pandas' string dtype; phone numbers are never parsed as numbers), ``timestamptz`` as UTC timestamps, line breaks
    allowed inside values. ``read_frame`` / ``iter_frames`` are the streaming readers for wide numeric frames."""
    with conn.cursor() as cur:
        cur.execute(f"select * from ({query}) as q limit 0", params)
        names = [d.name for d in cur.description]
        kinds = []
        for d in cur.description:
            info = conn.adapters.types.get(d.type_code)
            kinds.append(_ARROW_BY_TYPE_NAME.get(info.name if info else "text", pa.string()))
    buffer = bytearray()
    with conn.cursor() as cur, cur.copy(f"copy ({query}) to stdout with (format csv)", params) as copy:
        for block in copy:
            buffer += block
    if not buffer:
        return pd.DataFrame({n: pd.Series([], dtype=_empty_object_dtype(k)) for n, k in zip(names, kinds, strict=True)})
    table = pacsv.read_csv(
        io.BytesIO(bytes(buffer)),
        read_options=pacsv.ReadOptions(column_names=names),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=dict(zip(names, kinds, strict=True)),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )
    frame = table.to_pandas()
    for name, kind in zip(names, kinds, strict=True):
        if kind == pa.string():  # plain objects with None, whatever pandas' default string dtype is
            column = frame[name].astype(object)
            frame[name] = column.where(column.notna(), None)
    return frame


def _empty_object_dtype(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return "float64"
    if pa.types.is_boolean(kind):
        return "bool"
    return "object"
