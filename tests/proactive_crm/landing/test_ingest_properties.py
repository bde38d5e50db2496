"""Property: whatever bytes arrive, the loader refuses a file or loads it, and accounts for every row it read.

Hypothesis writes one landing file per example (random header order, optional and unknown columns, random field
text with quotes, separators, line breaks, NUL and non-ASCII characters, the literal strings other readers take for
null, sometimes raw random bytes or gzip) over the same path, so every example is also a re-delivery that replaces
the previous one. The reader, the validator and the loader run together, as ``ingest_source`` runs them, on a
connection that is not autocommit.
"""

from __future__ import annotations

import csv
import gzip
import io
from datetime import date
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from proactive_crm.config import Settings
from proactive_crm.landing.contract import SOURCES
from proactive_crm.landing.ingest import IngestionError, ingest_source

DAY = date(2026, 10, 1)
SOURCE = SOURCES["reviews"]

FIELD_TEXT = st.one_of(
    st.sampled_from(["", " ", "NA", "N/A", "NULL", "nan", "None", "5", "0", "-1", "1e3", "review", "complaint",
                     "2026-10-01T09:00:00Z", "2026-10-01 09:00", "2099-01-01T00:00:00Z", "C1", "O1", '"', ",", ";",
                     "a\x00b", "\x00"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
)
GOOD_ROW = st.fixed_dictionaries(
    {
        "review_id": st.from_regex(r"R[0-9]{1,4}", fullmatch=True),
        "customer_id": st.from_regex(r"C[0-9]{1,3}", fullmatch=True),
        "rating": st.integers(1, 5).map(str),
        "kind": st.sampled_from(["review", "complaint"]),
        "created_at": st.sampled_from(["2026-10-01T09:00:00Z", "2026-09-30 23:59:59", "2026-10-01T12:00:00+05:30"]),
    }
)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    optional = [c.name for c in SOURCE.columns if not c.required]
    columns = list(SOURCE.required_columns) + draw(st.lists(st.sampled_from(optional), unique=True))
    if draw(st.booleans()):
        columns.append("shop_code")  # unknown columns are kept in _extra
    if draw(st.integers(0, 9)) == 0:  # now and then a file that lacks a required column
        columns.remove(draw(st.sampled_from(list(SOURCE.required_columns))))
    columns = draw(st.permutations(columns))
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        base = draw(GOOD_ROW)
        row = [base.get(c, draw(FIELD_TEXT)) if draw(st.integers(0, 3)) else draw(FIELD_TEXT) for c in columns]
        if draw(st.integers(0, 9)) == 0:
            row = row[: draw(st.integers(0, len(row)))]  # a short record
        rows.append(row)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(columns)
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    if draw(st.integers(0, 9)) == 0:  # bytes flipped anywhere: broken UTF-8, quotes, separators
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 4))):
            if data:
                data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        data = bytes(data)
    return data


FILES = st.one_of(csv_files(), st.binary(max_size=200))


@pytest.fixture
def loader_conn(warehouse: str, conn: psycopg.Connection):
    """A connection as the DAG's ingest task opens it: not autocommit."""
    with psycopg.connect(warehouse) as connection:
        yield connection


# derandomize: the same 60 examples on every run, so CI never turns red on a draw it has not seen before (drop
# it locally to explore further)
@hypothesis_settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=FILES, compressed=st.booleans())
def test_every_file_is_refused_or_loaded_and_every_row_read_is_loaded_or_rejected(
    loader_conn: psycopg.Connection, landing: Path, settings: Settings, data: bytes, compressed: bool
):
    folder = landing / "reviews" / f"dt={DAY}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    name = "part-00000.csv.gz" if compressed else "part-00000.csv"
    (folder / name).write_bytes(gzip.compress(data) if compressed else data)

    try:
        ingest_source(loader_conn, "reviews", DAY, settings)
    except IngestionError as exc:  # the only error a file may cause: a refusal that names it
        assert f"reviews/dt={DAY}/{name}" in str(exc)

    assert loader_conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    status, read, loaded, rejected, error, load_id = loader_conn.execute(
        "select status, rows_read, rows_loaded, rows_rejected, error, load_id from raw.load_audit "
        "where source_file = %s order by load_id desc limit 1",
        (f"reviews/dt={DAY}/{name}",),
    ).fetchone()
    loader_conn.commit()  # the next example's ingest_source needs the connection idle again
    if status == "failed":
        assert error and error.startswith(f"reviews/dt={DAY}/{name}: ")
        # refused for what the file is (unreadable, a header without a required column), never because a value
        # that passed validation crashed COPY: hostile characters are rejected rows
        assert "PostgreSQL refused" not in error and "unexpected error" not in error
        return
    assert read == loaded + rejected
    in_raw = loader_conn.execute("select count(*) from raw.reviews where _load_id = %s", (load_id,)).fetchone()[0]
    in_rejected = loader_conn.execute(
        "select count(*) from raw.reviews_rejected where _load_id = %s", (load_id,)
    ).fetchone()[0]
    assert (in_raw, in_rejected) == (loaded, rejected)
    current = loader_conn.execute(
        "select count(*) from raw.load_audit where source_file = %s and status = 'loaded' and superseded_by is null",
        (f"reviews/dt={DAY}/{name}",),
    ).fetchone()[0]
    assert current == 1  # a re-delivery replaces the earlier load
    loader_conn.commit()
