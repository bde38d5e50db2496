"""Gate 1: each landing defect is caught before loading, with the severity the configuration gives it."""

from __future__ import annotations

import os
import time
from datetime import date

import psycopg
import pytest

from expectations.landing_gate import FilesRefused, run_landing_gate
from expectations.outcome import QualityGateError
from expectations.store import format_gate_summary
from proactive_crm.config import Settings
from proactive_crm.landing import fingerprints
from proactive_crm.landing.ingest import IngestionError, ingest_source
from tests.conftest import write_partition
from tests.expectations.conftest import failed, results, with_quality

ORDERS_HEADER = "order_id,customer_id,ordered_at,channel,status,currency,total_amount\n"
REVIEWS_HEADER = "review_id,customer_id,rating,kind,created_at\n"
DAY = date(2026, 10, 1)


def orders(n: int, day: str = "2026-10-01", start: int = 0) -> str:
    rows = range(start, start + n)
    return "".join(f"O{day}-{i},C{i % 7},{day}T10:{i % 60:02d}:00+02:00,web,completed,EUR,{i}.50\n" for i in rows)


def reviews(ratings: list[int]) -> str:
    return REVIEWS_HEADER + "".join(
        f"R{i},C{i},{rating},review,2026-10-01T09:00:00Z\n" for i, rating in enumerate(ratings)
    )


def test_a_clean_partition_passes_and_every_expectation_is_recorded(qconn, landing, settings: Settings):
    write_partition(landing, "orders", "2026-10-01", ORDERS_HEADER + orders(20))

    outcome = run_landing_gate(qconn, "orders", DAY, settings)

    assert outcome is not None and not outcome.failed_critical and not outcome.failed_warning
    rows = results(qconn, "landing")
    assert len(rows) == len(outcome.findings) > 20
    assert {target for target, *_ in rows} == {"orders"}
    # one partition and no history: the volume check is recorded as not evaluated, with the reason
    volume = [r for r in rows if r[1] == "volume"]
    assert volume and all(r[4] is None and "fewer than 7 earlier partitions" in r[5] for r in volume)
    assert all(r[4] is True for r in rows if r[1] != "volume")
    assert format_gate_summary(qconn, DAY).startswith("landing    PASSED ")
    assert (settings.state_dir / "quality" / "data_docs" / "landing" / "orders" / "index.html").exists()
    assert "landing/orders/index.html" in (settings.state_dir / "quality" / "data_docs" / "index.html").read_text()


def test_a_missing_required_column_is_critical_and_the_message_says_where_and_what(qconn, landing, settings):
    path = write_partition(
        landing,
        "orders",
        "2026-10-01",
        "order_id,ordered_at,channel,status,currency,total_amount\n"
        "O1,2026-10-01T10:00:00Z,web,completed,EUR,1.00\n",
    )

    with pytest.raises(FilesRefused) as caught:
        run_landing_gate(qconn, "orders", DAY, settings)

    assert ("required_columns", None, "critical") in failed(qconn, "landing")
    message = str(caught.value)
    relative = path.relative_to(landing).as_posix()
    assert list(caught.value.refused) == [relative]  # the file, named as raw.load_audit names it
    assert caught.value.refused[relative].startswith(f"{relative}: refused by the landing gate: required_columns")
    assert "landing gate FAILED for orders on 2026-10-01" in message
    assert "the refused file(s) are recorded as failed and not loaded" in message
    critical_part = message.split("Critical:")[1].split("Warnings")[0]
    assert f"file {relative}" in critical_part  # the file
    assert "required_columns (expect_column_values_to_be_null" in critical_part  # the expectation
    # the observed value, in the loader's own words
    assert f"observed 1 of 1 files (100.00%), e.g. {relative}: required column(s) customer_id missing" in critical_part
    assert "Check: every file must have the required orders columns" in critical_part  # what to check
    assert "quality.validation_results" in message


def test_a_critical_failure_refuses_that_file_while_its_neighbours_and_other_sources_load(
    qconn, landing, settings, monkeypatch: pytest.MonkeyPatch
):
    from proactive_crm.landing.ingest import IngestionError
    from proactive_crm.tasks import nightly

    bad = write_partition(landing, "orders", "2026-10-01", "order_id,ordered_at\nO1,2026-10-01T10:00:00Z\n")
    good = "order_id,customer_id,ordered_at,channel,status,currency,total_amount\n" + "".join(
        f"O{n},C1,2026-10-01T10:00:00Z,web,completed,EUR,1.00\n" for n in range(2, 5)
    )
    write_partition(landing, "orders", "2026-10-01", good, name="part-00001.csv")
    write_partition(landing, "reviews", "2026-10-01", reviews([5, 4]))
    monkeypatch.setenv("CRM_LANDING_DIR", str(landing))
    monkeypatch.setenv("CRM_STATE_DIR", str(settings.state_dir))

    with pytest.raises(IngestionError, match="refused by the landing gate: required_columns"):
        nightly.ingest("orders", DAY)
    loaded = nightly.ingest("reviews", DAY)

    assert loaded["rows_loaded"] == 2 and loaded["quality_warnings"] == 0
    audited = qconn.execute(
        "select source, source_file, status, rows_loaded from raw.load_audit order by source, source_file"
    ).fetchall()
    assert audited == [
        ("orders", bad.relative_to(landing).as_posix(), "failed", None),  # refused: audited, never loaded
        ("orders", "orders/dt=2026-10-01/part-00001.csv", "loaded", 3),  # its neighbour in the same partition
        ("reviews", "reviews/dt=2026-10-01/part-00000.csv", "loaded", 2),
    ]
    assert qconn.execute("select count(*) from raw.orders").fetchone()[0] == 3


def test_a_few_out_of_range_ratings_warn_and_a_large_share_is_critical(qconn, landing, settings):
    write_partition(landing, "reviews", "2026-10-01", reviews([5, 4, 3, 7] + [4] * 36))  # 1 in 40

    outcome = run_landing_gate(qconn, "reviews", DAY, settings)

    assert outcome is not None and not outcome.failed_critical
    assert [(f.check, f.column) for f in outcome.failed_warning] == [("ranges", "rating")]
    assert "1 of 40 rows (2.50%)" in outcome.failed_warning[0].observed
    assert "part-00000.csv:5: 7.0" in outcome.failed_warning[0].observed  # file:line of the bad record

    write_partition(landing, "reviews", "2026-10-01", reviews([9] * 10 + [4] * 30))  # re-delivered: 25% bad
    with pytest.raises(QualityGateError, match=r"ranges .*rating.*10 of 40 rows \(25.00%\)"):
        run_landing_gate(qconn, "reviews", DAY, settings)
    assert {("ranges", "rating", "critical"), ("ranges", "rating", "warning")} <= failed(qconn, "landing")


def test_duplicate_ids_in_a_partition(qconn, landing, settings):
    write_partition(landing, "orders", "2026-10-01", ORDERS_HEADER + orders(40) + orders(1))  # one order twice

    outcome = run_landing_gate(qconn, "orders", DAY, settings)
    assert [(f.check, f.severity) for f in outcome.failed_warning] == [("unique_ids", "warning")]
    assert "order_id" in outcome.failed_warning[0].column

    # the same export delivered a second time under another name: every order is duplicated
    write_partition(landing, "orders", "2026-10-01", ORDERS_HEADER + orders(40) + orders(1), name="part-00001.csv")
    with pytest.raises(QualityGateError, match="unique_ids"):
        run_landing_gate(qconn, "orders", DAY, settings)


def test_timestamps_beyond_the_business_day_and_its_tolerance(qconn, landing, settings):
    write_partition(
        landing,
        "orders",
        "2026-10-01",
        ORDERS_HEADER
        + orders(30)
        + "late-evening,C1,2026-10-01 23:59:00,web,completed,EUR,1\n"  # store-local, within the day
        + "next-morning,C1,2026-10-02T08:00:00+02:00,web,completed,EUR,1\n"  # within the 24 h tolerance
        + "next-week,C1,2026-10-08T08:00:00Z,web,completed,EUR,1\n",  # a clock or time-zone error
    )

    outcome = run_landing_gate(qconn, "orders", DAY, settings)

    assert [(f.check, f.column) for f in outcome.failed_warning] == [("future_timestamps", "ordered_at")]
    assert "1 of 33 rows" in outcome.failed_warning[0].observed and "2026-10-08" in outcome.failed_warning[0].observed


def test_a_partition_far_below_or_above_the_trailing_median_is_flagged(qconn, landing, settings):
    for day in range(1, 9):  # eight loaded partitions of 20 orders each: the history
        write_partition(landing, "orders", f"2026-10-{day:02d}", ORDERS_HEADER + orders(20, f"2026-10-{day:02d}"))
    ingest_source(qconn, "orders", date(2026, 10, 8), settings)
    write_partition(landing, "orders", "2026-10-09", ORDERS_HEADER + orders(4, "2026-10-09"))  # 80% smaller
    write_partition(landing, "orders", "2026-10-10", ORDERS_HEADER + orders(20, "2026-10-10"))  # normal

    outcome = run_landing_gate(qconn, "orders", date(2026, 10, 10), settings)

    assert [(f.check, f.severity) for f in outcome.failed_warning] == [("volume", "warning")]
    assert outcome.failed_warning[0].observed == "dt=2026-10-09: 4 rows vs trailing median 20 (x0.20)"
    judged = outcome.failed_warning[0].details["partitions"]
    assert judged["2026-10-10"]["ratio"] == pytest.approx(1.0)

    write_partition(landing, "orders", "2026-10-09", ORDERS_HEADER + orders(61, "2026-10-09"))  # now 3x larger
    outcome = run_landing_gate(qconn, "orders", date(2026, 10, 10), settings)
    assert outcome.failed_warning[0].observed == "dt=2026-10-09: 61 rows vs trailing median 20 (x3.05)"


def test_severity_and_thresholds_are_configuration(qconn, landing, settings):
    write_partition(landing, "reviews", "2026-10-01", reviews([5, 4, 3, 7] + [4] * 36))
    strict = with_quality(settings, {"landing": {"overrides": {"reviews.rating": {"ranges": "critical"}}}})
    with pytest.raises(QualityGateError, match="ranges"):
        run_landing_gate(qconn, "reviews", DAY, strict)

    relaxed = with_quality(settings, {"landing": {"ranges": {"severity": "off"}}})
    outcome = run_landing_gate(qconn, "reviews", DAY, relaxed)
    assert not outcome.failed_warning and "ranges" not in {f.check for f in outcome.findings}

    # value mappings apply before the enumeration check, as in the loader
    delivered = "O1,C1,2026-10-01T10:00:00Z,web,delivered,EUR,1\n"
    write_partition(landing, "orders", "2026-10-01", ORDERS_HEADER + orders(30) + delivered)
    mapped = with_quality(settings, {}, value_mappings={"orders.status": {"delivered": "completed"}})
    assert not run_landing_gate(qconn, "orders", DAY, mapped).failed_warning
    assert [f.check for f in run_landing_gate(qconn, "orders", DAY, settings).failed_warning] == ["enumerations"]


def test_results_are_written_once_per_run_date_and_loaded_files_are_not_validated_again(qconn, landing, settings):
    write_partition(landing, "reviews", "2026-10-01", reviews([5, 4, 3, 7] + [4] * 36))
    write_partition(landing, "orders", "2026-10-01", ORDERS_HEADER + orders(5))
    other = run_landing_gate(qconn, "orders", DAY, settings)
    first = run_landing_gate(qconn, "reviews", DAY, settings)
    again = run_landing_gate(qconn, "reviews", DAY, settings)

    count = "select target, count(*) from quality.validation_results group by target order by target"
    assert len(again.findings) == len(first.findings)
    assert qconn.execute(count).fetchall() == [("orders", len(other.findings)), ("reviews", len(first.findings))]

    ingest_source(qconn, "reviews", DAY, settings)
    assert run_landing_gate(qconn, "reviews", DAY, settings) is None  # nothing new: the recorded results stay
    assert qconn.execute(count).fetchall()[1] == ("reviews", len(first.findings))


def test_the_gate_reads_only_files_whose_size_or_times_changed(qconn, landing, settings, monkeypatch):
    path = write_partition(landing, "orders", "2026-10-01", ORDERS_HEADER + orders(5))
    monkeypatch.setattr(fingerprints, "SETTLED_NS", 50_000_000)  # settled after 0.1 s instead of a second
    time.sleep(0.1)
    ingest_source(qconn, "orders", DAY, settings)
    # A checksum the file no longer has: a gate that re-read the unchanged file would validate it again.
    qconn.execute("update raw.load_audit set checksum = 'not the content''s'")
    qconn.commit()
    assert run_landing_gate(qconn, "orders", DAY, settings) is None

    before = path.stat()
    path.write_text(ORDERS_HEADER + orders(5).replace(",web,", ",app,"), encoding="utf-8")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same mtime, as cp -p leaves it
    assert path.stat().st_size == before.st_size
    assert run_landing_gate(qconn, "orders", DAY, settings) is not None


def test_an_unreadable_file_is_recorded_and_left_to_the_loader(qconn, landing, settings):
    write_partition(landing, "orders", "2026-10-01", ORDERS_HEADER + orders(3))
    bad = landing / "orders" / "dt=2026-10-01" / "part-00001.csv"
    bad.write_bytes(ORDERS_HEADER.encode() + b"O9,C1,2026-10-01T10:00:00Z,web,completed,EUR,\xff\n")

    outcome = run_landing_gate(qconn, "orders", DAY, settings)

    assert [(f.check, f.severity) for f in outcome.failed_warning] == [("readable", "warning")]
    assert "not UTF-8" in outcome.failed_warning[0].observed
    with pytest.raises(IngestionError, match="not UTF-8"):  # the loader's own, documented behaviour
        ingest_source(qconn, "orders", DAY, settings)


def test_json_lines_without_a_required_key_and_malformed_lines(qconn, landing, settings):
    events = "".join(
        f'{{"event_id": "E{i}", "occurred_at": "2026-10-01T10:00:00Z", "anonymous_id": "A1"}}\n' for i in range(10)
    )
    write_partition(landing, "web_events", "2026-10-01", events, name="part-00000.jsonl")
    with pytest.raises(QualityGateError, match="event_type"):
        run_landing_gate(qconn, "web_events", DAY, settings)

    good = "".join(
        f'{{"event_id": "E{i}", "occurred_at": "2026-10-01T10:00:00Z", "anonymous_id": "A1", "event_type": "login"}}\n'
        for i in range(40)
    )
    write_partition(landing, "web_events", "2026-10-01", good + "{broken\n", name="part-00000.jsonl")
    outcome = run_landing_gate(qconn, "web_events", DAY, settings)
    assert [(f.check, f.severity) for f in outcome.failed_warning] == [("malformed_records", "warning")]
    where = "web_events/dt=2026-10-01/part-00000.jsonl:41"
    assert outcome.failed_warning[0].observed.startswith(f"1 of 41 rows (2.44%), e.g. {where}: not valid JSON")

    # a broken export: 12 of 40 lines cut off
    write_partition(landing, "web_events", "2026-10-01", good[: len(good) // 40 * 28] + "{cut\n" * 12, "p.jsonl")
    with pytest.raises(QualityGateError, match="malformed_records"):
        run_landing_gate(qconn, "web_events", DAY, settings)


def test_a_bad_record_in_a_tiny_file_is_a_warning_not_a_third_of_the_export(qconn, landing, settings):
    write_partition(landing, "products", "2026-10-01", "product_id,name,category,price,is_consumable,updated_at\n"
                    "P1,Filter,coffee,4.99,true,2026-10-01T08:00:00Z\n"
                    "P2,Mug,coffee,12,99,false,2026-10-01T08:00:00Z\n"  # a decimal comma: one field too many
                    "P3,Beans,coffee,9.99,yes,2026-10-01T08:00:00Z\n")

    outcome = run_landing_gate(qconn, "products", DAY, settings)

    assert [(f.check, f.severity) for f in outcome.failed_warning] == [("malformed_records", "warning")]
    tier = next(f for f in outcome.findings if f.check == "malformed_records" and f.severity == "critical")
    assert tier.success and tier.details["passed_below_critical_min_rows"] == 10  # 1 of 3 rows, but 1 row


def test_a_catch_up_is_validated_in_batches_whose_results_add_up(qconn, landing, settings: Settings):
    for day in range(1, 4):  # a duplicated order with a negative amount: 2 of 31 rows in its partition (6%)
        extra = "O2026-10-02-1,C1,2026-10-02T10:00:00Z,web,completed,EUR,-4\n" if day == 2 else ""
        write_partition(landing, "orders", f"2026-10-0{day}", ORDERS_HEADER + orders(30, f"2026-10-0{day}") + extra)
    small = with_quality(settings, {"landing": {"batch_max_rows": 5}})  # one partition per batch

    outcome = run_landing_gate(qconn, "orders", date(2026, 10, 3), small)

    whole = run_landing_gate(qconn, "orders", date(2026, 10, 3), settings)
    assert len(outcome.findings) == len(whole.findings)
    batched = {(f.check, f.observed) for f in outcome.failed_warning}
    assert batched == {(f.check, f.observed) for f in whole.failed_warning}
    ranges = next(f for f in outcome.failed_warning if f.check == "ranges")
    assert ranges.details["element_count"] == 91 and ranges.details["unexpected_count"] == 1
    # shares are judged on all rows of the run (2 of 91 duplicated), whatever the batch size
    assert not outcome.failed_critical


def test_the_gate_reads_the_connection_only_inside_transactions(warehouse, landing, settings):
    """A non-autocommit connection (as in the DAG's task) keeps the results of a failed gate after rollback."""
    write_partition(landing, "orders", "2026-10-01", "order_id\nO1\n")
    with psycopg.connect(warehouse) as connection:
        connection.execute("drop schema if exists quality cascade")
        connection.commit()
        with pytest.raises(QualityGateError):
            run_landing_gate(connection, "orders", DAY, settings)
        connection.rollback()
        assert connection.execute("select count(*) from quality.validation_results").fetchone()[0] > 0
