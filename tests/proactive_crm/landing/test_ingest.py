"""Loading landing files into raw: rejection of each defect class, accounting, idempotence, catch-up, failures."""

from __future__ import annotations

import gzip
import os
import time
from datetime import date

import psycopg
import pytest

from proactive_crm.config import Settings
from proactive_crm.landing import fingerprints
from proactive_crm.landing.ingest import IngestionError, ingest_source
from tests.conftest import write_partition

ORDERS_HEADER = "order_id,customer_id,ordered_at,channel,status,currency,total_amount\n"


def rejected(conn: psycopg.Connection, source: str) -> dict[int, str]:
    return dict(conn.execute(f"select _line_number, reason from raw.{source}_rejected").fetchall())


def test_each_defect_class_is_rejected_with_line_and_reason(conn, landing, settings: Settings):
    write_partition(
        landing,
        "orders",
        "2026-10-01",
        ORDERS_HEADER
        + "O1,C1,2026-10-01T10:00:00+02:00,web,completed,EUR,12.50\n"  # 2: valid
        + "O2,C1,2026-10-01T10:00:00Z,fax,completed,EUR,12.50\n"  # 3: unknown enum
        + "O3,,2026-10-01T10:00:00Z,web,completed,EUR,1\n"  # 4: missing required value
        + "O4,C2,2026-13-45,web,completed,EUR,1\n"  # 5: unparseable timestamp
        + "O5,C2,2026-10-01T10:00:00Z,web,completed,EUR,abc\n"  # 6: not a number
        + "O6,C2,2026-10-01T10:00:00Z,web,completed,EUR,-3\n"  # 7: out of range
        + "O7,C2,2026-10-01T10:00:00Z,web,completed,EUR\n"  # 8: wrong field count
        + 'O8,C2,"2026-10-01T10:00:00Z",store,returned,EUR,"3.00"\n',  # 9: valid, quoted
    )
    result = ingest_source(conn, "orders", date(2026, 10, 1), settings)

    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (8, 2, 6)
    reasons = rejected(conn, "orders")
    assert set(reasons) == {3, 4, 5, 6, 7, 8}
    assert "channel must be one of web, app, store, marketplace" in reasons[3] and "'fax'" in reasons[3]
    assert reasons[4] == "missing required value in customer_id"
    assert "ordered_at is not an ISO-8601 timestamp" in reasons[5]
    assert "total_amount is not a number" in reasons[6]
    assert "total_amount must be a number at least 0" in reasons[7]
    assert reasons[8] == "expected 7 fields as in the header, found 6"
    raw_text = conn.execute("select raw_record from raw.orders_rejected where _line_number = 3").fetchone()[0]
    assert raw_text == "O2,C1,2026-10-01T10:00:00Z,fax,completed,EUR,12.50"
    loaded = conn.execute("select order_id, _line_number from raw.orders order by order_id").fetchall()
    assert loaded == [("O1", 2), ("O8", 9)]


def test_naive_timestamps_are_store_local_time_and_offsets_are_respected(conn, landing, settings: Settings):
    assert settings.store_time_zone == "Europe/Berlin"
    write_partition(
        landing,
        "orders",
        "2026-07-01",
        ORDERS_HEADER
        + "O1,C1,2026-07-01 10:00:00,web,completed,EUR,1\n"  # CEST: UTC+2
        + "O2,C1,2026-07-01T10:00:00-03:00,web,completed,EUR,1\n"
        + "O3,C1,2026-07-01T10:00:00Z,web,completed,EUR,1\n",
    )
    ingest_source(conn, "orders", date(2026, 7, 1), settings)
    hours = dict(
        conn.execute(
            "select order_id, extract(hour from ordered_at at time zone 'UTC')::int from raw.orders"
        ).fetchall()
    )
    assert hours == {"O1": 8, "O2": 13, "O3": 10}


def test_extra_columns_are_kept_as_json(conn, landing, settings: Settings):
    write_partition(
        landing,
        "orders",
        "2026-10-01",
        "order_id,customer_id,ordered_at,channel,status,currency,total_amount,shop_code\n"
        "O1,C1,2026-10-01T10:00:00Z,web,completed,EUR,1,B12\n"
        "O2,C1,2026-10-01T10:00:00Z,web,completed,EUR,1,\n",
    )
    ingest_source(conn, "orders", date(2026, 10, 1), settings)
    extras = dict(conn.execute("select order_id, _extra from raw.orders").fetchall())
    assert extras == {"O1": {"shop_code": "B12"}, "O2": None}


def test_value_mappings_translate_source_codes_before_validation(conn, landing, settings: Settings):
    mapped = Settings(**{**settings.__dict__, "value_mappings": {"orders.status": {"delivered": "completed"}}})
    write_partition(
        landing,
        "orders",
        "2026-10-01",
        ORDERS_HEADER
        + "O1,C1,2026-10-01T10:00:00Z,marketplace,delivered,BRL,1\n"
        + "O2,C1,2026-10-01T10:00:00Z,marketplace,lost,BRL,1\n",
    )
    ingest_source(conn, "orders", date(2026, 10, 1), mapped)
    assert conn.execute("select order_id, status from raw.orders").fetchall() == [("O1", "completed")]
    assert "value_mappings['orders.status']" in rejected(conn, "orders")[3]


def test_jsonl_gzip_with_a_broken_line_loads_the_rest(conn, landing, settings: Settings):
    lines = [
        '{"event_id":"E1","occurred_at":"2026-10-01T10:00:00Z","anonymous_id":"A1","event_type":"login","customer_id":"C1"}',
        '{"event_id":"E2","occurred_at":"2026-10-01T10:00:00Z","anonymous_id":"A1","event_ty',
        '{"event_id":"E3","occurred_at":"2026-10-01T10:01:00Z","anonymous_id":"A1","event_type":"search","search_query":"coffee","campaign":"x"}',
        '["not", "an", "object"]',
        '{"event_id":"E5","occurred_at":"2026-10-01T10:01:00Z","anonymous_id":"A1"}',
    ]
    folder = landing / "web_events" / "dt=2026-10-01"
    folder.mkdir(parents=True)
    (folder / "part-00000.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))

    result = ingest_source(conn, "web_events", date(2026, 10, 1), settings)

    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (5, 2, 3)
    reasons = rejected(conn, "web_events")
    assert reasons[2].startswith("not valid JSON")
    assert reasons[4] == "expected a JSON object, found list"
    assert reasons[5] == "missing required value in event_type"
    assert conn.execute("select _extra from raw.web_events where event_id = 'E3'").fetchone()[0] == {"campaign": "x"}


def test_reload_is_idempotent_and_redelivery_replaces(conn, landing, settings: Settings):
    path = write_partition(
        landing, "orders", "2026-10-01", ORDERS_HEADER + "O1,C1,2026-10-01T10:00:00Z,web,completed,EUR,1\n"
    )
    first = ingest_source(conn, "orders", date(2026, 10, 1), settings)
    again = ingest_source(conn, "orders", date(2026, 10, 1), settings)
    assert first.count("loaded") == 1 and again.count("unchanged") == 1 and again.count("loaded") == 0
    assert conn.execute("select count(*) from raw.orders").fetchone()[0] == 1

    path.write_text(
        ORDERS_HEADER
        + "O1,C1,2026-10-01T10:00:00Z,web,returned,EUR,1\nO2,C1,2026-10-01T11:00:00Z,web,completed,EUR,2\n"
    )
    redelivered = ingest_source(conn, "orders", date(2026, 10, 1), settings)
    assert redelivered.count("loaded") == 1
    assert conn.execute("select order_id, status from raw.orders order by 1").fetchall() == [
        ("O1", "returned"),
        ("O2", "completed"),
    ]
    audit = conn.execute("select load_id, superseded_by from raw.load_audit order by load_id").fetchall()
    assert audit[0][1] == audit[1][0] and audit[1][1] is None


def settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the files just written count as settled after 0.1 s instead of a second (fingerprints.SETTLED_NS)."""
    monkeypatch.setattr(fingerprints, "SETTLED_NS", 50_000_000)
    time.sleep(0.1)


def test_a_file_whose_size_and_times_match_its_load_is_not_read_again(conn, landing, settings: Settings, monkeypatch):
    path = write_partition(
        landing, "orders", "2026-10-01", ORDERS_HEADER + "O1,C1,2026-10-01T10:00:00Z,web,completed,EUR,1\n"
    )
    settle(monkeypatch)
    ingest_source(conn, "orders", date(2026, 10, 1), settings)
    # A checksum the file's content no longer has: a loader that re-read the file would see it as changed.
    conn.execute("update raw.load_audit set checksum = 'not the content''s' where status = 'loaded'")
    conn.commit()
    assert ingest_source(conn, "orders", date(2026, 10, 1), settings).count("unchanged") == 1

    conn.execute("update raw.load_audit set checksum = encode(sha256(%s), 'hex')", (path.read_bytes(),))
    conn.commit()
    touched = path.stat().st_mtime_ns - 5_000_000_000
    os.utime(path, ns=(touched, touched))  # same content, new times: read and hashed, found unchanged
    settle(monkeypatch)
    assert ingest_source(conn, "orders", date(2026, 10, 1), settings).count("unchanged") == 1
    audit = conn.execute("select file_mtime_ns, superseded_by from raw.load_audit").fetchall()
    assert audit == [(touched, None)]  # the new times are trusted from now on; still one load


@pytest.mark.parametrize("keep_times", [False, True], ids=["new mtime", "mtime kept, as cp -p or rsync -a do"])
def test_a_redelivery_of_the_same_size_under_the_same_name_is_loaded(
    conn, landing, settings: Settings, keep_times, monkeypatch
):
    line = "O1,C1,2026-10-01T10:00:00Z,web,{},EUR,1\n"
    path = write_partition(landing, "orders", "2026-10-01", ORDERS_HEADER + line.format("completed"))
    settle(monkeypatch)
    ingest_source(conn, "orders", date(2026, 10, 1), settings)
    before = path.stat()
    assert conn.execute("select file_mtime_ns from raw.load_audit").fetchone()[0] == before.st_mtime_ns

    path.write_text(ORDERS_HEADER + line.format("cancelled"), encoding="utf-8")  # as long as "completed"
    if keep_times:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns == before.st_mtime_ns) == (before.st_size, keep_times)

    assert ingest_source(conn, "orders", date(2026, 10, 1), settings).count("loaded") == 1
    assert conn.execute("select status from raw.orders").fetchall() == [("cancelled",)]


def test_the_times_of_a_file_written_just_before_its_load_are_not_trusted(conn, landing, settings, monkeypatch):
    monkeypatch.setattr(fingerprints, "SETTLED_NS", 60_000_000_000)  # written "just before": within a minute
    write_partition(landing, "orders", "2026-10-01", ORDERS_HEADER + "O1,C1,2026-10-01T10:00:00Z,web,completed,EUR,1\n")
    ingest_source(conn, "orders", date(2026, 10, 1), settings)
    # It could still change within the same tick of the filesystem's clock: the next night reads it again.
    conn.execute("update raw.load_audit set checksum = 'not the content''s'")
    assert ingest_source(conn, "orders", date(2026, 10, 1), settings).count("loaded") == 1


def test_missed_nights_are_caught_up_and_future_partitions_wait(conn, landing, settings: Settings):
    for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
        write_partition(landing, "orders", day, ORDERS_HEADER + f"O{day[-1]},C1,{day}T10:00:00Z,web,completed,EUR,1\n")
    result = ingest_source(conn, "orders", date(2026, 10, 2), settings)
    assert [f.partition_date.day for f in result.files] == [1, 2]
    result = ingest_source(conn, "orders", date(2026, 10, 3), settings)
    assert [(f.partition_date.day, f.status) for f in result.files] == [
        (1, "unchanged"),
        (2, "unchanged"),
        (3, "loaded"),
    ]


def test_unreadable_files_fail_the_source_with_the_fix_but_others_load(conn, landing, settings: Settings):
    write_partition(landing, "orders", "2026-10-01", ORDERS_HEADER + "O1,C1,2026-10-01T10:00:00Z,web,completed,EUR,1\n")
    write_partition(landing, "orders", "2026-10-02", "order_id,customer_id,channel\nO2,C1,web\n")
    bad_gzip = landing / "orders" / "dt=2026-10-03" / "part-00000.csv.gz"
    bad_gzip.parent.mkdir(parents=True)
    bad_gzip.write_bytes(gzip.compress((ORDERS_HEADER * 50).encode())[:40])
    latin1 = landing / "orders" / "dt=2026-10-04" / "part-00000.csv"
    latin1.parent.mkdir(parents=True)
    latin1.write_bytes((ORDERS_HEADER + "O4,Müller,2026-10-04T10:00:00Z,web,completed,EUR,1\n").encode("latin-1"))
    write_partition(landing, "orders", "2026-10-05", "{}", name="orders.xlsx")

    with pytest.raises(IngestionError) as failure:
        ingest_source(conn, "orders", date(2026, 10, 5), settings)

    message = str(failure.value)
    assert "4 orders file(s) could not be loaded" in message
    assert (
        "dt=2026-10-02/part-00000.csv: required column(s) ordered_at, status, currency, total_amount missing" in message
    )
    assert "gzip stream is truncated or corrupt" in message and "re-deliver the file" in message
    assert "not UTF-8 (invalid byte at line 2" in message and "re-export the file as UTF-8" in message
    assert "orders.xlsx: orders accepts *.csv or *.csv.gz" in message
    assert conn.execute("select order_id from raw.orders").fetchall() == [("O1",)]
    statuses = conn.execute("select status, count(*) from raw.load_audit group by 1 order by 1").fetchall()
    assert statuses == [("failed", 4), ("loaded", 1)]


def test_a_failed_redelivery_keeps_the_earlier_load(conn, landing, settings: Settings):
    path = write_partition(
        landing, "orders", "2026-10-01", ORDERS_HEADER + "O1,C1,2026-10-01T10:00:00Z,web,completed,EUR,1\n"
    )
    ingest_source(conn, "orders", date(2026, 10, 1), settings)
    path.write_text("garbage without the contract's columns\n")
    with pytest.raises(IngestionError):
        ingest_source(conn, "orders", date(2026, 10, 1), settings)
    assert conn.execute("select order_id from raw.orders").fetchall() == [("O1",)]


def test_audit_invariant_holds_for_every_load(conn, landing, settings: Settings):
    write_partition(
        landing, "orders", "2026-10-01", ORDERS_HEADER + "O1,C1,2026-10-01T10:00:00Z,web,completed,EUR,1\nbad\n"
    )
    write_partition(landing, "orders", "2026-10-02", ORDERS_HEADER + "O2,C1,x,web,completed,EUR,1\n")
    ingest_source(conn, "orders", date(2026, 10, 2), settings)
    broken = conn.execute(
        "select count(*) from raw.load_audit where status = 'loaded' and rows_read <> rows_loaded + rows_rejected"
    ).fetchone()[0]
    assert broken == 0
    loaded, rejected_rows = conn.execute(
        "select sum(rows_loaded), sum(rows_rejected) from raw.load_audit where superseded_by is null"
    ).fetchone()
    assert loaded == conn.execute("select count(*) from raw.orders").fetchone()[0] == 1
    assert rejected_rows == conn.execute("select count(*) from raw.orders_rejected").fetchone()[0] == 2


def test_an_impossible_date_is_rejected_not_rolled_over(conn, landing, settings: Settings):
    """Arrow's strptime reads 1984-02-31 as 1984-03-02; a date must read back exactly as the export wrote it."""
    write_partition(
        landing,
        "customers",
        "2026-10-01",
        "customer_id,signup_at,consent_email,consent_sms,updated_at,birth_date\n"
        "C1,2026-10-01T08:00:00Z,true,false,2026-10-01T08:00:00Z,1984-02-29\n"
        "C2,2026-10-01T08:00:00Z,true,false,2026-10-01T08:00:00Z,1984-02-31\n"
        "C3,2026-10-01T08:00:00Z,true,false,2026-10-01T08:00:00Z,1985-02-29\n",
    )

    result = ingest_source(conn, "customers", date(2026, 10, 1), settings)

    assert (result.rows_loaded, result.rows_rejected) == (1, 2)
    assert conn.execute("select customer_id, birth_date::text from raw.customers").fetchall() == [("C1", "1984-02-29")]
