"""The DAG's ingest task (``proactive_crm.tasks.nightly.ingest``) on the connection it opens itself: one file, one fate.

Every test goes through the function the ``ingest`` task calls, so the landing gate runs first and the loader
works on a connection that is not autocommit, as in production: an earlier version rolled every file of a source
back when one of them failed, and only autocommit connections in the unit tests hid it.
"""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import psycopg
import pytest

from proactive_crm.config import Settings
from proactive_crm.landing.contract import SOURCES
from proactive_crm.landing.ingest import IngestionError
from proactive_crm.landing.raw_tables import ensure_raw_schema
from proactive_crm.tasks import nightly
from tests.conftest import write_partition

ORDERS_HEADER = "order_id,customer_id,ordered_at,channel,status,currency,total_amount\n"
REVIEWS_HEADER = "review_id,customer_id,rating,kind,created_at,body\n"
CUSTOMERS_HEADER = "customer_id,signup_at,consent_email,consent_sms,updated_at,first_name,last_name\n"
LINES_HEADER = "order_id,line_number,product_id,quantity,unit_price,discount_amount\n"


@pytest.fixture
def night(conn: psycopg.Connection, landing: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch):
    """Point the task at the test's landing folder and state; drop the gate's results of earlier tests."""
    conn.execute("drop schema if exists quality cascade")
    monkeypatch.setenv("CRM_LANDING_DIR", str(landing))
    monkeypatch.setenv("CRM_STATE_DIR", str(settings.state_dir))
    return conn


def orders(day: str, ids: range) -> str:
    return ORDERS_HEADER + "".join(f"O{day}-{i},C{i},{day}T10:00:00Z,web,completed,EUR,{i}.50\n" for i in ids)


def reviews(day: str, ids: range) -> str:
    return REVIEWS_HEADER + "".join(f"R{day}-{i},C{i},5,review,{day}T09:00:00Z,fine\n" for i in ids)


def customers(day: str, ids: range) -> str:
    return CUSTOMERS_HEADER + "".join(f"C{i},{day}T08:00:00Z,true,false,{day}T08:00:00Z,Ann,Lee\n" for i in ids)


def audit(conn: psycopg.Connection, source: str) -> list[tuple]:
    return conn.execute(
        "select source_file, status, rows_read, rows_loaded, rows_rejected, error from raw.load_audit "
        "where source = %s order by load_id",
        (source,),
    ).fetchall()


def count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(f"select count(*) from raw.{table}").fetchone()[0]


BAD_FILES = {
    "not UTF-8": (b"review_id,customer_id,rating,kind,created_at,body\nR1,C1,5,review,2026-10-02T09:00:00Z,caf\xe9\n",
                  "not UTF-8 (invalid byte at line 2"),
    "truncated gzip": (gzip.compress(reviews("2026-10-02", range(50)).encode())[:60], "gzip stream is truncated"),
    "0-byte CSV": (b"", "empty file"),
    "repeated header column": (b"review_id,customer_id,rating,rating,kind,created_at\nR1,C1,5,5,review,2026-10-02\n",
                               "the header repeats column(s) rating"),
}


@pytest.mark.parametrize("defect", list(BAD_FILES))
def test_one_unreadable_file_fails_alone_across_three_sources_and_several_days(night, landing: Path, defect: str):
    data, expected_error = BAD_FILES[defect]
    for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
        write_partition(landing, "orders", day, orders(day, range(4)))
        write_partition(landing, "customers", day, customers(day, range(3)))
        write_partition(landing, "reviews", day, reviews(day, range(2)))
    name = "part-00001.csv.gz" if defect == "truncated gzip" else "part-00001.csv"
    bad = landing / "reviews" / "dt=2026-10-02" / name
    bad.write_bytes(data)

    assert nightly.ingest("orders", date(2026, 10, 3))["rows_loaded"] == 12
    with pytest.raises(IngestionError) as caught:
        nightly.ingest("reviews", date(2026, 10, 3))
    assert nightly.ingest("customers", date(2026, 10, 3))["rows_loaded"] == 9

    message = str(caught.value)
    assert "1 reviews file(s) could not be loaded" in message and "(3 loaded, 0 unchanged)" in message
    assert f"reviews/dt=2026-10-02/{name}: " in message and expected_error in message
    assert str(landing) not in message  # paths relative to the landing root, as in raw.load_audit
    rows = audit(night, "reviews")
    assert [(f, s) for f, s, *_ in rows] == [
        ("reviews/dt=2026-10-01/part-00000.csv", "loaded"),
        ("reviews/dt=2026-10-02/part-00000.csv", "loaded"),
        (f"reviews/dt=2026-10-02/{name}", "failed"),
        ("reviews/dt=2026-10-03/part-00000.csv", "loaded"),
    ]
    assert expected_error in rows[2][5]
    assert count(night, "reviews") == 6  # every good row of the source, committed despite the failure


def test_a_file_that_still_fails_unchanged_does_not_fail_the_next_night_and_a_redelivery_loads(night, landing: Path):
    write_partition(landing, "reviews", "2026-10-01", reviews("2026-10-01", range(3)))
    bad = landing / "reviews" / "dt=2026-10-01" / "part-00001.csv"
    bad.write_bytes(b"\xff\xfe not utf-8\n")
    with pytest.raises(IngestionError):
        nightly.ingest("reviews", date(2026, 10, 1))

    write_partition(landing, "reviews", "2026-10-02", reviews("2026-10-02", range(2)))
    second = nightly.ingest("reviews", date(2026, 10, 2))  # red once, then the warehouse builds on what loaded
    assert second["rows_loaded"] == 2

    bad.write_text(reviews("2026-10-01", range(10, 14)), encoding="utf-8")  # re-delivered, fixed
    third = nightly.ingest("reviews", date(2026, 10, 2))
    assert third["rows_loaded"] == 4 and third["files_loaded"] == 1
    statuses = [(f.rsplit("/", 2)[-2:], s) for f, s, *_ in audit(night, "reviews")]
    assert statuses.count((["dt=2026-10-01", "part-00001.csv"], "failed")) == 2  # every attempt is accounted for
    assert count(night, "reviews") == 9


def test_a_nul_character_rejects_its_row_with_line_and_column_and_the_rest_loads(night, landing: Path):
    text = reviews("2026-10-01", range(3)).replace("R2026-10-01-1,C1,5,review,2026-10-01T09:00:00Z,fine",
                                                   "R2026-10-01-1,C1,5,review,2026-10-01T09:00:00Z,fi\x00ne")
    write_partition(landing, "reviews", "2026-10-01", text)
    write_partition(
        landing,
        "web_events",
        "2026-10-01",
        '{"event_id":"E1","occurred_at":"2026-10-01T10:00:00Z","anonymous_id":"A1","event_type":"page_view"}\n'
        '{"event_id":"E2","occurred_at":"2026-10-01T10:00:00Z","anonymous_id":"A\\u0000","event_type":"login"}\n'
        '{"event_id":"E3","occurred_at":"2026-10-01T10:00:00Z","anonymous_id":"A3","event_type":"login",'
        '"campaign":"x\\u0000y"}\n',
        name="part-00000.jsonl",
    )
    later = reviews("2026-10-01", range(5, 7))
    write_partition(landing, "reviews", "2026-10-01", later, name="part-00001.csv")  # later files are tried too

    loaded = nightly.ingest("reviews", date(2026, 10, 1))
    events = nightly.ingest("web_events", date(2026, 10, 1))

    assert (loaded["rows_read"], loaded["rows_loaded"], loaded["rows_rejected"]) == (5, 4, 1)
    line, raw, reason = night.execute("select _line_number, raw_record, reason from raw.reviews_rejected").fetchone()
    assert line == 3 and "body contains a NUL character" in reason and "re-deliver" in reason
    assert raw.endswith("fi\u2400ne")  # kept, with NUL shown as the symbol for null
    assert (events["rows_loaded"], events["rows_rejected"]) == (1, 2)
    reasons = dict(night.execute("select _line_number, reason from raw.web_events_rejected").fetchall())
    assert "anonymous_id contains a NUL character" in reasons[2]
    assert "campaign contains a NUL character" in reasons[3]  # unknown columns too: _extra is jsonb


def test_a_row_postgresql_refuses_during_copy_fails_its_file_with_the_original_line(night, landing: Path):
    """A constraint the loader cannot know (a DBA's check on the raw table) stands for any error COPY raises."""
    write_partition(landing, "reviews", "2026-10-01", reviews("2026-10-01", range(3)))
    nightly.ingest("reviews", date(2026, 10, 1))
    night.execute("alter table raw.reviews add constraint body_is_short check (length(body) < 20)")
    long_body = reviews("2026-10-02", range(4)).replace("R2026-10-02-2,C2,5,review,2026-10-02T09:00:00Z,fine",
                                                        "R2026-10-02-2,C2,5,review,2026-10-02T09:00:00Z," + "x" * 30)
    write_partition(landing, "reviews", "2026-10-02", long_body)
    write_partition(landing, "reviews", "2026-10-03", reviews("2026-10-03", range(2)))

    with pytest.raises(IngestionError) as caught:
        nightly.ingest("reviews", date(2026, 10, 3))

    message = str(caught.value)
    assert "reviews/dt=2026-10-02/part-00000.csv: PostgreSQL refused line 4 while loading raw.reviews" in message
    assert "body_is_short" in message and "re-deliver" in message
    assert [s for _, s, *_ in audit(night, "reviews")] == ["loaded", "failed", "loaded"]
    assert count(night, "reviews") == 5  # the first and the third day; nothing of the refused file


LITERALS = ("NA", "N/A", "NULL", "nan", "None")


@pytest.mark.parametrize("spanning", [False, True], ids=["fast reader", "fallback reader"])
def test_only_an_empty_field_is_missing_in_both_readers(night, landing: Path, spanning: bool):
    body = "".join(
        f"C{i},2026-10-01T08:00:00Z,true,false,2026-10-01T08:00:00Z,Ann,{word}\n" for i, word in enumerate(LITERALS)
    )
    body += "NULL,2026-10-01T08:00:00Z,true,false,2026-10-01T08:00:00Z,,\n"  # an id spelled NULL is an id
    if spanning:  # a quoted field spanning two lines sends the whole file to Python's csv reader
        body += 'C9,2026-10-01T08:00:00Z,true,false,2026-10-01T08:00:00Z,"Ann\nMarie",Lee\n'
    write_partition(landing, "customers", "2026-10-01", CUSTOMERS_HEADER + body)
    write_partition(
        landing,
        "products",
        "2026-10-01",
        "product_id,name,category,price,is_consumable,updated_at\n"
        "P1,NA,NULL,N/A,false,2026-10-01T08:00:00Z\nP2,None,nan,1.00,false,2026-10-01T08:00:00Z\n",
    )

    nightly.ingest("customers", date(2026, 10, 1))
    nightly.ingest("products", date(2026, 10, 1))

    names = dict(night.execute("select customer_id, last_name from raw.customers").fetchall())
    assert [names[f"C{i}"] for i in range(len(LITERALS))] == list(LITERALS)
    assert names["NULL"] is None  # the empty field, and only it
    assert night.execute("select name, category from raw.products").fetchall() == [("None", "nan")]
    reason = night.execute("select reason from raw.products_rejected").fetchone()[0]
    assert reason == "price is not a number (found 'N/A')"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("order_id;customer_id;ordered_at;channel;status;currency;total_amount",
         "the header is one column that contains semicolons (order_id, customer_id, ordered_at, channel, status, "
         "currency, total_amount): the file looks semicolon-separated"),
        ("order_id\tcustomer_id\tordered_at\tchannel\tstatus\tcurrency\ttotal_amount", "looks tab-separated"),
        ("order_id,customer,ordered_at,channel,status,currency,total_amount",
         "required column(s) customer_id missing from the header (found: order_id, customer, ordered_at, channel, "
         "status, currency, total_amount)"),
    ],
    ids=["semicolons", "tabs", "misspelled"],
)
def test_a_file_with_a_bad_header_is_refused_alone_and_the_message_says_what_is_wrong(
    night, landing: Path, header: str, expected: str
):
    write_partition(landing, "orders", "2026-10-01", orders("2026-10-01", range(3)))
    separator = ";" if ";" in header else "\t" if "\t" in header else ","
    row = separator.join(["X1", "C1", "2026-10-01T10:00:00Z", "web", "completed", "EUR", "1.00"])
    write_partition(landing, "orders", "2026-10-01", f"{header}\n{row}\n", name="part-00001.csv")
    write_partition(landing, "orders", "2026-10-02", orders("2026-10-02", range(2)))

    with pytest.raises(IngestionError) as caught:
        nightly.ingest("orders", date(2026, 10, 2))

    assert expected in str(caught.value)
    assert [(f, s) for f, s, *_ in audit(night, "orders")] == [
        ("orders/dt=2026-10-01/part-00000.csv", "loaded"),
        ("orders/dt=2026-10-01/part-00001.csv", "failed"),
        ("orders/dt=2026-10-02/part-00000.csv", "loaded"),
    ]
    assert count(night, "orders") == 5


def test_timestamps_after_the_business_day_and_its_tolerance_are_rejected_per_row(night, landing: Path):
    write_partition(
        landing,
        "orders",
        "2026-10-01",
        ORDERS_HEADER
        + "O1,C1,2026-10-01T23:30:00+02:00,web,completed,EUR,1.00\n"  # the last minutes of the business day
        + "O2,C1,2026-10-02T20:00:00+02:00,web,completed,EUR,1.00\n"  # within the default tolerance of one day
        + "O3,C1,2099-01-01T10:00:00Z,web,completed,EUR,1.00\n"  # a broken clock
        + "O4,C1,2026-10-03T00:30:00+02:00,web,completed,EUR,1.00\n",  # half an hour past the tolerance
    )

    result = nightly.ingest("orders", date(2026, 10, 1))

    assert (result["rows_loaded"], result["rows_rejected"]) == (2, 2)
    reasons = dict(night.execute("select _line_number, reason from raw.orders_rejected").fetchall())
    assert set(reasons) == {4, 5}
    assert reasons[4].startswith("ordered_at lies after 2026-10-02 22:00 UTC, the end of the business day plus")
    assert "check the exporting system's clock" in reasons[4] and "'2099-01-01T10:00:00Z'" in reasons[4]


def test_amounts_keep_every_decimal_delivered_and_the_gate_counts_sub_cent_amounts(night, landing: Path):
    ensure_raw_schema(night, [SOURCES["order_lines"]])  # as created before numbers were stored as delivered:
    for column in ("unit_price", "discount_amount"):
        night.execute(f"alter table raw.order_lines alter column {column} type numeric(14, 4)")
    write_partition(
        landing,
        "order_lines",
        "2026-10-01",
        LINES_HEADER + "O1,1,P1,400,0.00275977,0\nO1,2,P2,1,12345678901.123456789,0.005\nO2,1,P1,1,2.50,0\n",
    )

    nightly.ingest("order_lines", date(2026, 10, 1))

    prices = night.execute("select unit_price::text, discount_amount::text from raw.order_lines order by 1").fetchall()
    assert prices == [("0.00275977", "0"), ("12345678901.123456789", "0.005"), ("2.50", "0")]
    observed = night.execute(
        "select observed_value from quality.validation_results where check_name = 'decimal_places' "
        "and column_name = 'discount_amount' and success is false"
    ).fetchone()
    assert observed and observed[0].startswith("1 of 3 rows")
