"""--dirty: every injected defect is listed in _truth/defects.csv at its physical line, and nothing else is wrong."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.devtools.synth.conftest import (
    GENERATED_SOURCES,
    line_errors,
    make_run,
    partition_date,
    partition_files,
    read_lines,
)

DEFECT_COLUMNS = ["source", "partition_date", "file", "line_number", "defect", "expect_rejected"]
REJECTED_KINDS = {"malformed", "out_of_range", "bad_enum", "null_required"}


@pytest.fixture(scope="module")
def defects(dirty_run: Path) -> list[dict[str, str]]:
    with open(dirty_run / "_truth" / "defects.csv", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == DEFECT_COLUMNS
        return list(reader)


@pytest.fixture(scope="module")
def lines(dirty_run: Path) -> dict[tuple[str, int], tuple[str, object]]:
    """(file, line number) -> (source, Line) for every data line of the run."""
    out = {}
    for source in GENERATED_SOURCES:
        for path in partition_files(dirty_run, source):
            for line in read_lines(path):
                out[(path.relative_to(dirty_run).as_posix(), line.number)] = (source, line)
    return out


def test_defects_point_at_real_lines_with_consistent_metadata(defects, lines):
    assert defects
    for d in defects:
        source, _ = lines[(d["file"], int(d["line_number"]))]
        assert d["source"] == source and d["file"].startswith(f"{source}/dt={d['partition_date']}/")
        assert d["expect_rejected"] == ("true" if d["defect"] in REJECTED_KINDS else "false")


def test_exactly_the_listed_lines_break_the_contract(defects, lines):
    listed = {(d["file"], int(d["line_number"])) for d in defects if d["expect_rejected"] == "true"}
    invalid = {key for key, (source, line) in lines.items() if line_errors(source, line, allow_naive=True)}
    assert invalid == listed
    # a broken line does not break the file: the lines after it still parse
    assert len(lines) - len(invalid) > 10 * len(invalid)


def test_every_kind_of_defect_occurs_in_every_source(defects):
    kinds = Counter(d["defect"] for d in defects)
    assert set(kinds) == REJECTED_KINDS | {"duplicate", "late"}
    assert {d["source"] for d in defects} == set(GENERATED_SOURCES)
    assert {d["source"] for d in defects if d["defect"] == "late"} == {"web_events"}


def test_duplicates_repeat_an_earlier_line(dirty_run: Path, defects, lines):
    texts_by_source: dict[str, list[tuple[str, int, str]]] = {}
    for (file, number), (source, line) in lines.items():
        texts_by_source.setdefault(source, []).append((file, number, line.text))
    for d in (d for d in defects if d["defect"] == "duplicate"):
        _, line = lines[(d["file"], int(d["line_number"]))]
        same = [
            (f, n)
            for f, n, text in texts_by_source[d["source"]]
            if text == line.text and (f, n) != (d["file"], int(d["line_number"]))
        ]
        assert same, d
        assert any(f < d["file"] or (f == d["file"] and n < int(d["line_number"])) for f, n in same)


def test_late_web_events_land_one_to_three_days_later(dirty_run: Path, defects, lines):
    late = [d for d in defects if d["defect"] == "late"]
    assert late
    for d in late:
        _, line = lines[(d["file"], int(d["line_number"]))]
        occurred = datetime.fromisoformat(line.record["occurred_at"]).date()
        assert 1 <= (date.fromisoformat(d["partition_date"]) - occurred).days <= 3


def test_store_tills_write_naive_local_time_which_is_valid(dirty_run: Path, lines):
    naive = Counter()
    for source, line in lines.values():
        if source == "orders" and line.record is not None and not line_errors(source, line, allow_naive=True):
            is_naive = datetime.fromisoformat(line.record["ordered_at"]).tzinfo is None
            naive[(line.record["channel"], is_naive)] += 1
    assert naive[("store", True)] > 0 and naive[("store", False)] == 0
    assert not any(is_naive for (channel, is_naive) in naive if channel != "store")


def test_dirty_run_is_the_clean_run_plus_defects(tmp_path: Path, dirty_run: Path):
    clean = make_run(tmp_path, customers=400, days=60, seed=9)
    for source in GENERATED_SOURCES:
        dirty_lines = Counter(line.text for path in partition_files(dirty_run, source) for line in read_lines(path))
        for path in partition_files(clean, source):
            for line in read_lines(path):
                if source == "orders" and line.record["channel"] == "store":
                    continue  # written as naive store-local time in dirty mode
                assert dirty_lines[line.text] > 0, (source, partition_date(path), line.text)
