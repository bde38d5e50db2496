"""Frames to and from PostgreSQL with COPY (CSV through pyarrow): a million candidate rows in seconds."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

ARROW_BY_TYPE = {
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


def read_frame(conn: psycopg.Connection, query: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """The query's rows as a DataFrame; text columns stay text (phone numbers are never parsed as numbers)."""
    with conn.cursor() as cur:
        cur.execute(f"select * from ({query}) as q limit 0", params)
        names = [d.name for d in cur.description]
        kinds = []
        for d in cur.description:
            info = conn.adapters.types.get(d.type_code)
            kinds.append(ARROW_BY_TYPE.get(info.name if info else "text", pa.string()))
    buffer = bytearray()
    with conn.cursor() as cur, cur.copy(f"copy ({query}) to stdout with (format csv)", params) as copy:
        for block in copy:
            buffer += block
    if not buffer:
        return pd.DataFrame({n: pd.Series([], dtype=_empty(k)) for n, k in zip(names, kinds, strict=True)})
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


def _empty(kind: pa.DataType) -> str:
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return "float64"
    if pa.types.is_boolean(kind):
        return "bool"
    return "object"


def copy_frame(conn: psycopg.Connection, table: str, frame: pd.DataFrame, columns: Sequence[str]) -> int:
    """Append frame[columns] to table with COPY (CSV: empty = null, text quoted where needed)."""
    if frame.empty:
        return 0
    buffer = io.BytesIO()
    arrow = pa.Table.from_pandas(frame[list(columns)], preserve_index=False)
    pacsv.write_csv(arrow, buffer, write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    with conn.cursor() as cur, cur.copy(f"copy {table} ({', '.join(columns)}) from stdin with (format csv)") as copy:
        view = buffer.getbuffer()
        for start in range(0, len(view), 1 << 20):
            copy.write(view[start : start + (1 << 20)])
    return len(frame)
