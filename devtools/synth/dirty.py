"""--dirty: realistic delivery defects, each recorded in ``_truth/defects.csv``.

Defects are *added* around the clean rows (a garbled extra copy, a duplicate, a re-delivery) or *move* a row
(late web events), never destroy one: after the loader rejects what it must and staging de-duplicates, the
data equal the clean run with the same seed. The defect stream has its own random generator, so the clean
rows do not change when --dirty is given.

| defect        | expect_rejected | what                                                                  |
|---------------|-----------------|-----------------------------------------------------------------------|
| duplicate     | false           | exact copy in the same file, or re-delivered in a later partition     |
| late          | false           | a web event of day X delivered in the partition of day X+1..X+3       |
| malformed     | true            | wrong number of CSV fields, unparsable timestamp/number/bool, cut JSON |
| out_of_range  | true            | rating 0 or 7, quantity 0 or negative, negative price or total        |
| bad_enum      | true            | channel 'fax', status 'lost_in_transit', kind 'praise', ...           |
| null_required | true            | empty/null value in a required column                                 |
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from devtools.synth.writer import JSONL_SOURCES, RawLine, Row, encode_json_row
from proactive_crm.landing.contract import SOURCES

Corrupt = Callable[[str, list, np.random.Generator], Row]
DEFECTS_HEADER = ("source", "partition_date", "file", "line_number", "defect", "expect_rejected")
CORRUPT_SHARE = 4  # garbled rows per source: 4 x rate, spread over the source's kinds of corruption
MAX_LATE_DAYS, MAX_REDELIVERY_DAYS = 3, 5


def _index(source: str, column: str) -> int:
    return SOURCES[source].column_names.index(column)


def set_value(column: str, value: str) -> Corrupt:
    def corrupt(source: str, row: list, rng: np.random.Generator) -> Row:
        row[_index(source, column)] = value
        return row

    return corrupt


def null(column: str) -> Corrupt:
    def corrupt(source: str, row: list, rng: np.random.Generator) -> Row:
        row[_index(source, column)] = None if source in JSONL_SOURCES else ""
        return row

    return corrupt


def bad_timestamp(column: str) -> Corrupt:
    def corrupt(source: str, row: list, rng: np.random.Generator) -> Row:
        value = row[_index(source, column)]
        row[_index(source, column)] = f"{value[:4]}-13-45{value[10:]}"  # month 13, day 45
        return row

    return corrupt


def negative(column: str) -> Corrupt:
    def corrupt(source: str, row: list, rng: np.random.Generator) -> Row:
        value = row[_index(source, column)]
        row[_index(source, column)] = "-" + (value if value not in ("0", "0.00") else "1.00")
        return row

    return corrupt


def wrong_field_count(source: str, row: list, rng: np.random.Generator) -> Row:
    return row[:-1] if rng.random() < 0.5 else [*row, "EXTRA"]


def truncated_json(source: str, row: list, rng: np.random.Generator) -> Row:
    line = encode_json_row(SOURCES[source].column_names, row)
    return RawLine(line[: max(2, len(line) // 2)])  # cut in the middle: no closing brace


CORRUPTIONS: dict[str, tuple[tuple[str, Corrupt], ...]] = {
    "customers": (
        ("malformed", wrong_field_count),
        ("malformed", bad_timestamp("signup_at")),
        ("malformed", set_value("consent_email", "maybe")),
        ("null_required", null("customer_id")),
        ("null_required", null("updated_at")),
    ),
    "products": (
        ("malformed", wrong_field_count),
        ("malformed", set_value("price", "12,99 EUR")),
        ("out_of_range", negative("price")),
        ("null_required", null("name")),
    ),
    "orders": (
        ("bad_enum", set_value("channel", "fax")),
        ("bad_enum", set_value("status", "lost_in_transit")),
        ("malformed", bad_timestamp("ordered_at")),
        ("malformed", set_value("total_amount", "n/a")),
        ("out_of_range", negative("total_amount")),
        ("null_required", null("customer_id")),
        ("malformed", wrong_field_count),
    ),
    "order_lines": (
        ("out_of_range", set_value("quantity", "0")),
        ("out_of_range", set_value("quantity", "-1")),
        ("malformed", set_value("unit_price", "abc")),
        ("malformed", set_value("quantity", "2.5")),
        ("null_required", null("product_id")),
        ("malformed", wrong_field_count),
    ),
    "reviews": (
        ("out_of_range", set_value("rating", "7")),
        ("out_of_range", set_value("rating", "0")),
        ("bad_enum", set_value("kind", "praise")),
        ("null_required", null("created_at")),
        ("malformed", wrong_field_count),
    ),
    "web_events": (
        ("malformed", truncated_json),
        ("bad_enum", set_value("event_type", "hover")),
        ("malformed", bad_timestamp("occurred_at")),
        ("null_required", null("anonymous_id")),
    ),
}


class DefectInjector:
    """Decides the defects of each file and carries rows that go to a later partition."""

    def __init__(self, rng: np.random.Generator, rate: float, days: int) -> None:
        self.rng = rng
        self.rate = rate
        self.days = days
        self._carry: dict[tuple[str, int], list[tuple[Row, str]]] = defaultdict(list)

    def has_carried(self, source: str, day: int) -> bool:
        return bool(self._carry.get((source, day)))

    def inject(self, source: str, day: int, rows: list[Row], take_carried: bool) -> tuple[list[Row], list[tuple]]:
        """(rows to write, [(index in those rows, defect, expect_rejected)])."""
        rng, n = self.rng, len(rows)
        late_rate = self.rate if source in JSONL_SOURCES else 0.0
        counts = rng.binomial(n, [late_rate, self.rate, self.rate, min(1.0, self.rate * CORRUPT_SHARE)])
        picked = rng.choice(n, size=min(n, int(counts.sum())), replace=False) if n else np.zeros(0, np.int64)
        late, redeliver, dup, corrupt = (set(p.tolist()) for p in np.split(picked, np.cumsum(counts)[:3]))
        out: list[Row] = []
        tags: list[tuple] = []
        for i, row in enumerate(rows):
            if i in late and self._send_later(source, day, row, "late", MAX_LATE_DAYS):
                continue
            out.append(row)
            if i in dup:
                tags.append((len(out), "duplicate", False))
                out.append(list(row))
            if i in corrupt:
                defect, garble = CORRUPTIONS[source][int(rng.integers(len(CORRUPTIONS[source])))]
                tags.append((len(out), defect, True))
                out.append(garble(source, list(row), rng))
            if i in redeliver:
                self._send_later(source, day, list(row), "duplicate", MAX_REDELIVERY_DAYS)
        if take_carried:
            for row, defect in self._carry.pop((source, day), []):
                tags.append((len(out), defect, False))
                out.append(row)
        return out, tags

    def _send_later(self, source: str, day: int, row: Row, defect: str, max_days: int) -> bool:
        later = day + int(self.rng.integers(1, max_days + 1))
        if later >= self.days:
            return False  # the window ends first: the row stays where it is
        self._carry[(source, later)].append((row, defect))
        return True


class DefectLog:
    """``_truth/defects.csv``: one line per defective physical line of a landing file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._csv.writerow(DEFECTS_HEADER)
        self.count = 0

    def record(self, source: str, dt: str, file: str, first_line: int, tags: list[tuple]) -> None:
        for index, defect, rejected in tags:
            self._csv.writerow((source, dt, file, first_line + index, defect, "true" if rejected else "false"))
        self.count += len(tags)

    def close(self) -> None:
        self._file.close()
