"""Clean mode: the layout and every value follow the landing contract."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from proactive_crm.landing.contract import SOURCES
from tests.devtools.synth.conftest import (
    END,
    GENERATED_SOURCES,
    line_errors,
    partition_date,
    partition_files,
    read_lines,
    read_source,
)

# the timestamp that decides a record's partition
PARTITION_COLUMN = {
    "customers": "updated_at",
    "products": "updated_at",
    "orders": "ordered_at",
    "reviews": "created_at",
    "web_events": "occurred_at",
}


def test_layout_is_hive_partitions_of_the_window(clean_run: Path):
    start = END - timedelta(days=59)
    assert sorted(p.name for p in clean_run.iterdir()) == sorted([*GENERATED_SOURCES, "_truth"])
    for source in GENERATED_SOURCES:
        files = partition_files(clean_run, source)
        assert files, source
        for path in files:
            assert start <= partition_date(path) <= END
            assert path.name == ("part-00000.jsonl.gz" if source == "web_events" else "part-00000.csv")
            assert len(list(path.parent.iterdir())) == 1
    # the whole catalogue and every customer from before the window are in the first day's partition
    assert partition_date(partition_files(clean_run, "products")[0]) == start
    assert partition_date(partition_files(clean_run, "customers")[0]) == start


def test_csv_header_is_the_contract_column_order(clean_run: Path):
    for source in GENERATED_SOURCES:
        if source == "web_events":
            continue
        for path in partition_files(clean_run, source):
            assert path.read_text(encoding="utf-8").split("\n", 1)[0] == ",".join(SOURCES[source].column_names)


def test_every_line_is_valid(clean_run: Path):
    problems = []
    for source in GENERATED_SOURCES:
        for path in partition_files(clean_run, source):
            for line in read_lines(path):
                errors = line_errors(source, line)
                if errors:
                    problems.append((path.relative_to(clean_run).as_posix(), line.number, errors))
    assert problems == []


def test_records_sit_in_the_partition_of_their_event_date(clean_run: Path):
    first_day = (END - timedelta(days=59)).isoformat()
    for source, column in PARTITION_COLUMN.items():
        for row in read_source(clean_run, source):
            stamp = datetime.fromisoformat(row[column])
            assert stamp.utcoffset() == timedelta(0)
            utc_day = stamp.date().isoformat()
            if source == "customers" and row["_dt"] == first_day:
                assert utc_day <= first_day  # existing customers: their true, earlier signup/update
            else:
                assert utc_day == row["_dt"], (source, row)


def test_money_has_two_decimals_and_no_field_spans_lines(clean_run: Path):
    for source, columns in {
        "orders": ["total_amount"],
        "order_lines": ["unit_price", "discount_amount"],
        "products": ["price", "unit_cost"],
    }.items():
        for row in read_source(clean_run, source):
            for column in columns:
                whole, _, frac = row[column].partition(".")
                assert whole.isdigit() and len(frac) == 2, (source, column, row[column])
    for source in GENERATED_SOURCES:
        for row in read_source(clean_run, source):
            assert not any("\n" in v or "\r" in v for v in row.values())


def test_fields_with_commas_and_quotes_are_quoted(clean_run: Path):
    text = "".join(p.read_text(encoding="utf-8") for p in partition_files(clean_run, "products"))
    assert '"' in text  # product names with commas are quoted (RFC 4180)
    names = {row["name"] for row in read_source(clean_run, "products")}
    assert any("," in n for n in names)


def test_no_action_responses_are_generated(clean_run: Path):
    assert not (clean_run / "action_responses").exists()
