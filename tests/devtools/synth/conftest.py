"""Generated landing folders shared by the synth tests, and an independent reader/checker of the contract.

The checker is written from the contract alone (not from the generator, nor from the loader), so a generator
bug cannot hide behind the same code on both sides.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest

from devtools.synth import SynthConfig, generate
from proactive_crm.landing.contract import SOURCES, Column

END = date(2026, 10, 31)
GENERATED_SOURCES = ("customers", "products", "orders", "order_lines", "reviews", "web_events")
INT_RE = re.compile(r"-?\d+")
NUMBER_RE = re.compile(r"-?\d+(\.\d+)?")
MONEY_RE = re.compile(r"\d+\.\d{2}")


def make_run(root: Path, customers: int, days: int, seed: int, dirty: bool = False, rate: float = 0.003) -> Path:
    out = root / f"run_c{customers}_d{days}_s{seed}_{'dirty' if dirty else 'clean'}"
    generate(
        SynthConfig(
            customers=customers,
            days=days,
            seed=seed,
            out_dir=out,
            end_date=END,
            dirty=dirty,
            dirty_rate=rate,
            quiet=True,
        )
    )
    return out


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small clean run for format, contract and integrity checks."""
    return make_run(tmp_path_factory.mktemp("synth"), customers=300, days=60, seed=5)


@pytest.fixture(scope="session")
def behaviour_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Big enough for the planted behaviour to show through the noise (about a second to generate)."""
    return make_run(tmp_path_factory.mktemp("synth"), customers=2000, days=180, seed=21)


@pytest.fixture(scope="session")
def dirty_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dirty run with a raised defect rate so that every kind of defect occurs."""
    return make_run(tmp_path_factory.mktemp("synth"), customers=400, days=60, seed=9, dirty=True, rate=0.01)


# -- reading ---------------------------------------------------------------------------------------------------
@dataclass
class Line:
    number: int  # 1-based physical line (CSV header = line 1; first JSON object = line 1)
    text: str
    record: dict[str, str | None] | None  # None when the line does not split into the header's fields
    error: str = ""


def partition_files(root: Path, source: str) -> list[Path]:
    return sorted((root / source).glob("dt=*/part-*"))


def partition_date(path: Path) -> date:
    return date.fromisoformat(path.parent.name.removeprefix("dt="))


def read_lines(path: Path) -> list[Line]:
    if path.name.endswith(".jsonl.gz"):
        return _jsonl_lines(gzip.decompress(path.read_bytes()).decode("utf-8"))
    return _csv_lines(path.read_text(encoding="utf-8"))


def _csv_lines(text: str) -> list[Line]:
    physical = text.split("\n")
    assert physical[-1] == "", "a CSV file ends with a line break"
    header = physical[0].split(",")
    out = []
    for number, raw in enumerate(physical[1:-1], start=2):
        fields = next(csv.reader(io.StringIO(raw), strict=True))  # one physical line = one record
        if len(fields) != len(header):
            out.append(Line(number, raw, None, f"{len(fields)} fields, header has {len(header)}"))
        else:
            out.append(Line(number, raw, dict(zip(header, fields, strict=True))))
    return out


def _jsonl_lines(text: str) -> list[Line]:
    physical = text.split("\n")
    assert physical[-1] == "", "a JSONL file ends with a line break"
    out = []
    for number, raw in enumerate(physical[:-1], start=1):
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            out.append(Line(number, raw, None, f"not JSON: {exc}"))
            continue
        assert isinstance(obj, dict)
        out.append(Line(number, raw, {k: (None if v is None else str(v)) for k, v in obj.items()}))
    return out


def read_source(root: Path, source: str) -> list[dict[str, str]]:
    """All records of a source (valid lines only) with '' for missing values, plus their partition date."""
    rows = []
    for path in partition_files(root, source):
        dt = partition_date(path).isoformat()
        for line in read_lines(path):
            if line.record is not None:
                rows.append(
                    {
                        **{c: "" for c in SOURCES[source].column_names},
                        **{k: v or "" for k, v in line.record.items()},
                        "_dt": dt,
                    }
                )
    return rows


# -- checking --------------------------------------------------------------------------------------------------
def _type_error(column: Column, value: str, allow_naive: bool) -> tuple[str, float | None]:
    """(why the text is not of the column's type, its number for int/numeric columns)."""
    if column.type in ("int", "numeric"):
        pattern = INT_RE if column.type == "int" else NUMBER_RE
        if not pattern.fullmatch(value):
            return f"{column.name}: not {'an int' if column.type == 'int' else 'a number'}: {value!r}", None
        return "", float(value)
    if column.type == "bool" and value not in ("true", "false"):
        return f"{column.name}: not true/false: {value!r}", None
    if column.type in ("timestamp", "date"):
        try:
            parsed = datetime.fromisoformat(value) if column.type == "timestamp" else date.fromisoformat(value)
        except ValueError:
            return f"{column.name}: not a {column.type}: {value!r}", None
        if isinstance(parsed, datetime) and parsed.tzinfo is None and not allow_naive:
            return f"{column.name}: timestamp without offset: {value!r}", None
    return "", None


def value_error(column: Column, value: str | None, allow_naive: bool = False) -> str:
    """Why a value breaks the contract ('' when it is fine)."""
    if value is None or value == "":
        return f"{column.name}: missing required value" if column.required else ""
    error, number = _type_error(column, value, allow_naive)
    if error:
        return error
    if column.allowed is not None and value not in column.allowed:
        return f"{column.name}: {value!r} not in {column.allowed}"
    if number is not None and column.min_value is not None and number < column.min_value:
        return f"{column.name}: {value} below {column.min_value}"
    if number is not None and column.max_value is not None and number > column.max_value:
        return f"{column.name}: {value} above {column.max_value}"
    return ""


def line_errors(source: str, line: Line, allow_naive: bool = False) -> list[str]:
    if line.record is None:
        return [line.error]
    contract = SOURCES[source]
    unknown = [k for k in line.record if k not in contract.column_names]
    errors = [f"unknown column {k}" for k in unknown]
    for column in contract.columns:
        error = value_error(column, line.record.get(column.name), allow_naive)
        if error:
            errors.append(error)
    return errors


def cents(value: str) -> int:
    assert MONEY_RE.fullmatch(value), f"money with 2 decimals: {value!r}"
    whole, frac = value.split(".")
    return int(whole) * 100 + int(frac)
