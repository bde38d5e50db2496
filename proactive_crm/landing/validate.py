"""Type every column of a parsed file at once and split it into loadable rows and rejected rows.

A row is rejected, with every reason that applies, when a required value is missing, a value does not parse as
its contract type, an enumerated value is neither in the contract nor mapped by ``value_mappings``, a number
lies outside the contract's range, a timestamp lies after the business day (plus a tolerance), or any field holds
a character PostgreSQL cannot store (NUL). Checks run on whole Arrow columns, not row by row, because a night of web
events is millions of rows; reasons are spelled out only for the (few) rejected rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from proactive_crm.landing.contract import Column, Source
from proactive_crm.landing.parse import ParsedFile
from proactive_crm.store_calendar import day_end

INT_RE = r"^[+-]?\d{1,18}$"
NUMERIC_RE = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
OFFSET_RE = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"
TRUE_WORDS = pa.array(["true", "t", "1", "yes", "y"])
FALSE_WORDS = pa.array(["false", "f", "0", "no", "n"])
UTC_MICROS = pa.timestamp("us", tz="UTC")
NUL = "\x00"
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)


@dataclass
class ValidatedFile:
    rows: pa.Table  # loadable rows: typed contract columns, _extra (JSON text) and _line_number
    rejected: list[tuple[int, str, str]]  # (line number, raw text, reason), in line order


@dataclass
class Fault:
    mask: np.ndarray  # True where the value is bad
    reason: str


def _mask(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def _cast_timestamps(values: pa.Array, target: pa.DataType) -> pa.Array:
    """Arrow's fast ISO-8601 cast; values it cannot parse become null (pandas reads them one by one)."""
    try:
        return pc.cast(values, target)
    except pa.ArrowInvalid:
        parsed = pd.to_datetime(
            pd.Series(values.to_pylist(), dtype=object), format="ISO8601", errors="coerce", utc=target.tz is not None
        )
        return pa.array(parsed.dt.tz_localize(None) if target.tz is None else parsed, type=target, from_pandas=True)


def parse_timestamps(values: pa.Array, store_tz: str) -> pa.Array:
    """ISO-8601 text -> UTC timestamps; values without an offset are local time in the store's time zone."""
    has_offset = _mask(pc.match_substring_regex(values, OFFSET_RE))
    result = np.full(len(values), None, dtype=object)
    aware_idx = np.nonzero(has_offset)[0]
    naive_idx = np.nonzero(~has_offset & _mask(pc.is_valid(values)))[0]
    if len(aware_idx) == len(values):
        return _cast_timestamps(values, UTC_MICROS)
    if len(aware_idx):
        result[aware_idx] = _cast_timestamps(values.take(aware_idx), UTC_MICROS).to_numpy(zero_copy_only=False)
    if len(naive_idx):
        local = _cast_timestamps(values.take(naive_idx), pa.timestamp("us"))
        # Wall-clock times repeated when clocks go back read as the first occurrence; times skipped when clocks
        # go forward read as the first valid time after the gap: an export cannot contain them otherwise.
        utc = pc.assume_timezone(local, store_tz, ambiguous="earliest", nonexistent="latest")
        result[naive_idx] = pc.cast(utc, UTC_MICROS).to_numpy(zero_copy_only=False)
    return pa.array(result, type=UTC_MICROS, from_pandas=True)


def _number_faults(column: Column, text: pa.Array, present: np.ndarray) -> list[Fault]:
    kind = "a whole number" if column.type == "int" else "a number"
    parses = _mask(pc.match_substring_regex(text, INT_RE if column.type == "int" else NUMERIC_RE))
    faults = [Fault(present & ~parses, f"{column.name} is not {kind}")]
    if column.min_value is None and column.max_value is None:
        return faults
    number = pc.cast(pc.if_else(pa.array(parses), text, pa.scalar(None, pa.string())), pa.float64())
    values = number.to_numpy(zero_copy_only=False)
    low = -np.inf if column.min_value is None else column.min_value
    high = np.inf if column.max_value is None else column.max_value
    with np.errstate(invalid="ignore"):
        outside = parses & ((values < low) | (values > high))
    bounds = (
        f"between {column.min_value:g} and {column.max_value:g}"
        if column.max_value is not None
        else f"at least {column.min_value:g}"
    )
    faults.append(Fault(outside, f"{column.name} must be {kind} {bounds}"))
    return faults


def business_day_end(run_date: date, store_tz: str) -> datetime:
    """The end of the business day in the store's time zone, in UTC: the loader and the landing gate both measure
    timestamps after the business day from here (each column adds its ``future_timestamps`` tolerance)."""
    return day_end(run_date, store_tz)


def _future_fault(column: Column, typed: pa.Array, latest: datetime | None) -> list[Fault]:
    if latest is None:
        return []
    after = _mask(pc.greater(typed, pa.scalar(latest, UTC_MICROS)))
    return [
        Fault(
            after,
            f"{column.name} lies after {latest:%Y-%m-%d %H:%M} UTC, the end of the business day plus its tolerance "
            "(quality.landing.future_timestamps.tolerance_hours): check the exporting system's clock and time zone",
        )
    ]


def _check_column(
    column: Column, values: pa.Array, store_tz: str, latest: datetime | None = None
) -> tuple[pa.Array, list[Fault]]:
    """The typed column to load and the faults found in it."""
    present = _mask(pc.is_valid(values))
    if column.type == "text":
        if column.allowed is None:
            return values, []
        allowed = _mask(pc.is_in(values, value_set=pa.array(column.allowed)))
        return values, [Fault(present & ~allowed, f"{column.name} must be one of {', '.join(column.allowed)}")]
    if column.type in ("int", "numeric"):
        text = pc.utf8_trim_whitespace(values)
        return text, _number_faults(column, text, present)
    if column.type == "bool":
        lowered = pc.utf8_lower(pc.utf8_trim_whitespace(values))
        is_true = pc.is_in(lowered, value_set=TRUE_WORDS)
        is_false = pc.is_in(lowered, value_set=FALSE_WORDS)
        typed = pc.if_else(is_true, True, pc.if_else(is_false, False, pa.scalar(None, pa.bool_())))
        return typed, [Fault(present & ~_mask(pc.or_(is_true, is_false)), f"{column.name} must be true or false")]
    if column.type == "timestamp":
        typed = parse_timestamps(pc.utf8_trim_whitespace(values), store_tz)
        unparsed = Fault(present & ~_mask(pc.is_valid(typed)), f"{column.name} is not an ISO-8601 timestamp")
        # years before 1900 (or before year 1, which Arrow reads and PostgreSQL's COPY does not) are a broken
        # date format, not history
        ancient = Fault(
            _mask(pc.less(typed, pa.scalar(EARLIEST, UTC_MICROS))),
            f"{column.name} lies before 1900: check the export's date format",
        )
        return typed, [unparsed, ancient, *_future_fault(column, typed, latest)]
    if column.type == "date":
        text = pc.utf8_trim_whitespace(values)
        parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
        # Arrow rolls impossible days over (1984-02-31 reads as 1984-03-02): a date must read back as written
        exact = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), text)
        typed = pc.if_else(pc.fill_null(exact, False), pc.cast(parsed, pa.date32()), pa.scalar(None, pa.date32()))
        return typed, [Fault(present & ~_mask(pc.is_valid(typed)), f"{column.name} is not a YYYY-MM-DD date")]
    raise ValueError(f"unknown contract type {column.type!r} for {column.name}")


def _column_text(parsed: ParsedFile, name: str) -> pa.Array:
    n = parsed.table.num_rows
    if name not in parsed.table.column_names:
        return pa.nulls(n, pa.string())
    values = parsed.table.column(name).combine_chunks()
    # blank: empty or only whitespace (utf8_is_space is false for ""); neither test copies the strings as a trim does
    blank = pc.or_(pc.equal(values, ""), pc.utf8_is_space(values))
    if not pc.any(blank).as_py():
        return values
    return pc.if_else(pc.fill_null(blank, False), pa.scalar(None, pa.string()), values)


def _apply_mapping(values: pa.Array, mapping: dict[str, str]) -> pa.Array:
    keys = pa.array(list(mapping))
    mapped = pc.take(pa.array(list(mapping.values())), pc.index_in(values, value_set=keys))
    return pc.coalesce(mapped, values)


def _nul_faults(parsed: ParsedFile) -> list[tuple[Fault, pa.Array, Column | None]]:
    """Fields holding NUL, which PostgreSQL cannot store in text: the row is rejected, not the whole COPY."""
    faults: list[tuple[Fault, pa.Array, Column | None]] = []
    for name in parsed.table.column_names:
        values = parsed.table.column(name).combine_chunks()
        mask = _mask(pc.match_substring(values, NUL))
        if mask.any():
            reason = (
                f"{name} contains a NUL character (byte 0x00), which PostgreSQL cannot store: "
                "remove it in the exporting system and re-deliver the file"
            )
            faults.append((Fault(mask, reason), values, None))
    return faults


def _extra_json(parsed: ParsedFile) -> pa.Array:
    n = parsed.table.num_rows
    if not parsed.extra_columns:
        return pa.nulls(n, pa.string())
    names = parsed.extra_columns
    columns = [parsed.table.column(name).to_pylist() for name in names]
    records = (
        {k: v for k, v in zip(names, values, strict=True) if v not in (None, "")}
        for values in zip(*columns, strict=True)
    )
    return pa.array([json.dumps(r) if r else None for r in records], pa.string())


def validate(
    parsed: ParsedFile,
    source: Source,
    store_tz: str,
    value_mappings: dict[str, dict[str, str]] | None = None,
    latest: dict[str, datetime] | None = None,
) -> ValidatedFile:
    """``latest``: per timestamp column, the latest instant (UTC) a row may carry; later rows are rejected."""
    value_mappings = value_mappings or {}
    latest = latest or {}
    n = parsed.table.num_rows
    typed: dict[str, pa.Array] = {}
    faults: list[tuple[Fault, pa.Array, Column | None]] = _nul_faults(parsed) if parsed.may_hold_nul else []
    for column in source.columns:
        values = _column_text(parsed, column.name)
        mapping = value_mappings.get(f"{source.name}.{column.name}")
        if mapping:
            values = _apply_mapping(values, mapping)
        if column.required:
            missing = ~_mask(pc.is_valid(values))
            faults.append((Fault(missing, f"missing required value in {column.name}"), values, column))
        typed[column.name], found = _check_column(column, values, store_tz, latest.get(column.name))
        faults.extend((fault, values, column) for fault in found)

    bad = np.zeros(n, dtype=bool)
    for fault, _, _ in faults:
        bad |= fault.mask
    reasons: dict[int, list[str]] = {int(i): [] for i in np.nonzero(bad)[0]}
    for fault, values, column in faults:
        for i in np.nonzero(fault.mask)[0]:
            reason = fault.reason
            if column is not None and column.personal:
                reason += " (value withheld: personal data)"
            elif column is not None and not reason.startswith("missing required value"):
                reason += f" (found '{str(values[int(i)].as_py())[:60]}')"
                if column.allowed is not None:
                    reason += f"; map other values with value_mappings['{source.name}.{column.name}'] in the config"
            reasons[int(i)].append(reason)

    rejected = [(int(parsed.line_numbers[i]), parsed.raw_text(i), "; ".join(r)) for i, r in reasons.items()]
    rejected = sorted(parsed.rejected + rejected)
    typed["_extra"] = _extra_json(parsed)
    typed["_line_number"] = pa.array(parsed.line_numbers, pa.int64())
    rows = pa.table(typed)
    if bad.any():
        rows = rows.filter(pa.array(~bad))
    return ValidatedFile(rows=rows, rejected=rejected)
