"""The binary COPY encoder against PostgreSQL itself: every value reads back as the loader means it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from proactive_crm.landing.binary_copy import BinaryCopyEncoder, can_encode

COLUMNS = {  # name -> (PostgreSQL type, Arrow values as the loader hands them over)
    "body": ("text", pa.array(["plain", None, "Grüße, \"quoted\"\n two lines", "", "😀"], pa.string())),
    "extra": ("jsonb", pa.array(['{"shop": "B12"}', None, '{"n": 1}', None, "[]"], pa.string())),
    "quantity": ("bigint", pa.array(["+5", "-12", None, "007", "999999999999999999"], pa.string())),
    "line": ("integer", pa.array([2, 3, 4, 5, 2_000_000_000], pa.int64())),
    "load_id": ("bigint", pa.array([1, 1, 1, 1, 1], pa.int64())),
    "consent": ("boolean", pa.array([True, False, None, True, False])),
    "at": (
        "timestamptz",
        pa.array(
            [
                datetime(2026, 10, 1, 8, 30, 0, 123456),
                datetime(1999, 12, 31, 23, 59, 59),  # before PostgreSQL's epoch: a negative count
                None,
                datetime(1900, 1, 1),
                datetime(2000, 1, 1),
            ],
            pa.timestamp("us"),
        ),
    ),
    "born": ("date", pa.array([date(1984, 2, 29), None, date(1999, 12, 31), date(2000, 1, 1), date(2026, 10, 1)])),
}


def test_every_type_reads_back_as_sent(conn):
    names = list(COLUMNS)
    table = pa.table({name: values for name, (_, values) in COLUMNS.items()})
    types = [pg_type for pg_type, _ in COLUMNS.values()]
    conn.execute("drop table if exists binary_copy_check")
    conn.execute(f"create table binary_copy_check ({', '.join(f'{n} {t}' for n, t in zip(names, types, strict=True))})")
    statement = f"copy binary_copy_check ({', '.join(names)}) from stdin (format binary)"
    with conn.cursor() as cur, cur.copy(statement) as copy:
        encoder = BinaryCopyEncoder(names, types)
        copy.write(encoder.header())
        for batch in (table.slice(0, 2), table.slice(2)):  # two batches, as the loader sends them
            for part in encoder.encode(batch):
                copy.write(part)
        copy.write(encoder.trailer())

    read = conn.execute(f"select {', '.join(names)} from binary_copy_check").fetchall()

    expected = [
        ("plain", {"shop": "B12"}, 5, 2, 1, True, datetime(2026, 10, 1, 8, 30, 0, 123456, UTC), date(1984, 2, 29)),
        (None, None, -12, 3, 1, False, datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), None),
        ('Grüße, "quoted"\n two lines', {"n": 1}, None, 4, 1, None, None, date(1999, 12, 31)),
        ("", None, 7, 5, 1, True, datetime(1900, 1, 1, tzinfo=UTC), date(2000, 1, 1)),
        ("😀", [], 999999999999999999, 2_000_000_000, 1, False, datetime(2000, 1, 1, tzinfo=UTC), date(2026, 10, 1)),
    ]
    assert read == expected


@pytest.mark.parametrize(("types", "encodable"), [(["text", "bigint"], True), (["text", "numeric"], False)])
def test_numeric_columns_are_left_to_csv(types, encodable):
    assert can_encode(types) is encodable
