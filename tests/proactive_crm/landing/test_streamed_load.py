"""Streamed loading: rows go to the COPY as Arrow's streaming reader parses them; a file that turns out not to be
one record per line is taken back (savepoint) and read whole, so every row is loaded once, with its own line."""

from __future__ import annotations

import gzip
import logging
from datetime import date

import psycopg
import pytest

from proactive_crm.config import Settings
from proactive_crm.landing import ingest, parse
from proactive_crm.landing.ingest import ingest_source
from tests.conftest import write_partition

HEADER = "event_id,occurred_at,anonymous_id,event_type\n"
DAY = date(2026, 10, 1)


def row(i: int) -> str:
    return f"E{i},2026-10-01T10:00:{i:02d}Z,A{i},page_view\n"


def jsonl(i: int, **extra: str) -> str:
    fields = {"event_id": f"E{i}", "occurred_at": f"2026-10-01T10:00:{i:02d}Z", "anonymous_id": "A", **extra}
    fields.setdefault("event_type", "login")
    return "{" + ",".join(f'"{k}":"{v}"' for k, v in fields.items()) + "}\n"


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of two rows read in blocks of about two rows, so a file of a few rows is several COPY writes."""
    monkeypatch.setattr(ingest, "COPY_BATCH_ROWS", 2)
    monkeypatch.setattr(parse, "CSV_BLOCK_BYTES", 100)
    monkeypatch.setattr(parse, "JSON_BLOCK_BYTES", 200)


def loaded(conn: psycopg.Connection) -> list[tuple[str, int]]:
    return conn.execute("select event_id, _line_number from raw.web_events order by _line_number").fetchall()


def audit(conn: psycopg.Connection) -> tuple[int, int, int]:
    return conn.execute("select rows_read, rows_loaded, rows_rejected from raw.load_audit").fetchone()


def test_a_clean_file_is_streamed_in_batches(conn, landing, settings: Settings, small_batches, caplog):
    write_partition(landing, "web_events", "2026-10-01", HEADER + "".join(row(i) for i in range(1, 8)))
    with caplog.at_level(logging.INFO, logger=ingest.__name__):
        result = ingest_source(conn, "web_events", DAY, settings)
    assert "read whole" not in caplog.text  # the streamed path loaded it
    assert (result.rows_read, result.rows_loaded) == (7, 7)
    assert loaded(conn) == [(f"E{i}", i + 1) for i in range(1, 8)]
    assert audit(conn) == (7, 7, 0)


@pytest.mark.parametrize(
    ("text", "lines", "rejected"),
    [
        # a blank line is found only when the rows do not add up to the lines, after every batch went out
        (HEADER + "".join(row(i) for i in range(1, 6)) + "\n" + row(6), [2, 3, 4, 5, 6, 8], {}),
        # a record spanning two lines (a quoted newline)
        (
            HEADER + "".join(row(i) for i in range(1, 5)) + 'E5,2026-10-01T10:00:05Z,"A\n5",page_view\n' + row(6),
            [2, 3, 4, 5, 6, 8],
            {},
        ),
        # a record of the wrong width in the third batch
        (HEADER + "".join(row(i) for i in range(1, 5)) + "E5,x\n" + row(6), [2, 3, 4, 5, 7], {6: "expected 4 fields"}),
    ],
    ids=["blank line", "record over two lines", "short record"],
)
def test_a_file_that_is_not_one_record_per_line_is_taken_back_and_read_whole(
    conn, landing, settings: Settings, small_batches, caplog, text, lines, rejected
):
    write_partition(landing, "web_events", "2026-10-01", text)
    with caplog.at_level(logging.INFO, logger=ingest.__name__):
        result = ingest_source(conn, "web_events", DAY, settings)
    assert "read whole" in caplog.text
    assert [line for _, line in loaded(conn)] == lines  # each row once: the streamed batches were taken back
    reasons = dict(conn.execute("select _line_number, reason from raw.web_events_rejected").fetchall())
    assert {line: reason[: len(rejected[line])] for line, reason in reasons.items()} == rejected
    assert audit(conn) == (result.rows_read, len(lines), len(rejected))
    assert result.rows_read == len(lines) + len(rejected)


def test_a_json_field_first_met_after_the_first_block_is_kept(conn, landing, settings: Settings, small_batches):
    text = "".join(jsonl(i) for i in range(1, 6)) + jsonl(6, campaign="spring") + jsonl(7)
    write_partition(landing, "web_events", "2026-10-01", text, name="part-00000.jsonl")
    result = ingest_source(conn, "web_events", DAY, settings)
    assert (result.rows_read, result.rows_loaded) == (7, 7)
    assert [line for _, line in loaded(conn)] == list(range(1, 8))
    extra = conn.execute("select _extra from raw.web_events where event_id = 'E6'").fetchone()[0]
    assert extra == {"campaign": "spring"}


def test_a_streamed_json_file_without_a_required_key_fails_and_loads_nothing(
    conn, landing, settings: Settings, small_batches
):
    text = "".join(f'{{"event_id":"E{i}","occurred_at":"2026-10-01T10:00:00Z","anonymous_id":"A"}}\n' for i in range(5))
    write_partition(landing, "web_events", "2026-10-01", text, name="part-00000.jsonl")
    with pytest.raises(ingest.IngestionError, match="no record has the required key"):
        ingest_source(conn, "web_events", DAY, settings)
    assert conn.execute("select count(*) from raw.web_events").fetchone()[0] == 0
    assert conn.execute("select status from raw.load_audit").fetchall() == [("failed",)]


def test_a_gzip_file_of_several_members_loads_every_member(conn, landing, settings: Settings):
    folder = landing / "web_events" / "dt=2026-10-01"
    folder.mkdir(parents=True)
    members = gzip.compress((jsonl(1) + jsonl(2)).encode()) + gzip.compress(jsonl(3).encode())
    (folder / "part-00000.jsonl.gz").write_bytes(members + b"\x00" * 8)  # padding after a member, as gzip allows
    result = ingest_source(conn, "web_events", DAY, settings)
    assert (result.rows_read, result.rows_loaded) == (3, 3)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "with a byte-order mark"])
def test_a_csv_byte_that_is_not_utf8_after_batches_went_out_fails_the_file_at_its_position(
    conn, landing, settings: Settings, small_batches, bom
):
    # CSV text is left to Arrow's reader to check; the file is then checked whole for the error's position
    head = (HEADER + "".join(row(i) for i in range(1, 6))).encode()
    folder = landing / "web_events" / "dt=2026-10-01"
    folder.mkdir(parents=True)
    (folder / "part-00000.csv").write_bytes(bom + head + b"E6,2026-10-01T10:00:06Z,caf\xe9,page_view\n")
    with pytest.raises(ingest.IngestionError) as failure:
        ingest_source(conn, "web_events", DAY, settings)
    assert (
        f"not UTF-8 (invalid byte at line 7, byte {len(bom) + len(head) + len(b'E6,2026-10-01T10:00:06Z,caf')})"
        in str(failure.value)
    )
    assert conn.execute("select count(*) from raw.web_events").fetchone()[0] == 0
